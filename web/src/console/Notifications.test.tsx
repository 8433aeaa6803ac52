import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ROUTER_FUTURE } from "../App";
import { ContactsSection } from "./ContactsSection";
import { NotificationsPage } from "./NotificationsPage";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const contact = (id: string, name: string, more: object = {}) => ({
  id, name, student_id: null, user_id: null, language: "en", email: `${id}@example.org`, phone: null, push_topic: null,
  webhook_url: null, channels: ["email"], topics: ["absence"], created_at: "2026-11-01T10:00:00Z", ...more,
});
const guardian = contact("k1", "Pat Guardian", { student_id: "s1", channels: ["email", "sms"], phone: "+33612345678", language: "fr" });
const office = contact("k2", "School office");
const dead = {
  id: "d1", event_id: "e1", contact_id: "k2", channel: "email", status: "dead", attempts: 5,
  next_attempt_at: "2026-11-02T10:00:00Z", last_error: "smtp 550 mailbox unavailable", sent_at: null, created_at: "2026-11-02T09:00:00Z",
};

interface Sent {
  method: string;
  url: string;
  body: unknown;
}

/** Answers the notification routes from ``answers`` (by "METHOD url"); records every call that is not a GET. */
function stubApi(answers: Record<string, () => Response>) {
  const sent: Sent[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit) => {
      const method = init.method ?? "GET";
      if (method !== "GET") sent.push({ method, url, body: init.body ? JSON.parse(String(init.body)) : null });
      const answer = answers[`${method} ${url}`];
      return answer ? answer() : json(404, { error: { code: "not_found", message: "Not Found" } });
    }),
  );
  sessionStorage.setItem("rollcall.access", "a");
  return sent;
}

const renderIn = (element: React.ReactNode) => render(<MemoryRouter future={ROUTER_FUTURE}>{element}</MemoryRouter>);

afterEach(() => vi.unstubAllGlobals());

describe("the notification settings", () => {
  it("sends both quiet hours and the language, or no quiet hours at all", async () => {
    const sent = stubApi({
      "GET /v1/notifications/settings": () => json(200, { quiet_start: null, quiet_end: null, language: "en" }),
      "PUT /v1/notifications/settings": () => json(200, { quiet_start: "22:00:00", quiet_end: "06:30:00", language: "fr" }),
      "GET /v1/notifications/contacts": () => json(200, []),
      "GET /v1/notifications/deliveries?status=dead": () => json(200, []),
    });
    renderIn(<NotificationsPage />);
    const form = await screen.findByRole("form", { name: "Quiet hours and language" });
    expect((within(form).getByLabelText("Quiet hours start") as HTMLInputElement).disabled).toBe(true);
    await userEvent.click(within(form).getByLabelText("No quiet hours"));
    await userEvent.type(within(form).getByLabelText("Quiet hours start"), "22:00");
    await userEvent.type(within(form).getByLabelText("Quiet hours end"), "06:30");
    await userEvent.selectOptions(within(form).getByLabelText("Default message language"), "fr");
    await userEvent.click(within(form).getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Settings saved.")).toBeTruthy();
    await userEvent.click(within(form).getByLabelText("No quiet hours"));
    await userEvent.click(within(form).getByRole("button", { name: "Save" }));
    expect(sent.map((call) => call.body)).toEqual([
      { quiet_start: "22:00", quiet_end: "06:30", language: "fr" },
      { quiet_start: null, quiet_end: null, language: "fr" },
    ]);
  });

  it("lists a dead letter by its contact's name and sends it again", async () => {
    let deadLetters = [dead];
    const sent = stubApi({
      "GET /v1/notifications/settings": () => json(200, { quiet_start: null, quiet_end: null, language: "en" }),
      "GET /v1/notifications/contacts": () => json(200, [guardian, office]),
      "GET /v1/notifications/deliveries?status=dead": () => json(200, deadLetters),
      "POST /v1/notifications/deliveries/d1/retry": () => ((deadLetters = []), json(200, { ...dead, status: "pending", attempts: 0 })),
    });
    renderIn(<NotificationsPage />);
    const table = await screen.findByRole("table", { name: "Undelivered messages" });
    expect(within(table).getByText("smtp 550 mailbox unavailable")).toBeTruthy();
    await userEvent.click(within(table).getByRole("button", { name: "Send again to School office" }));
    expect(await screen.findByText("The message to School office is queued again.")).toBeTruthy();
    expect(await screen.findByText("No undelivered messages.")).toBeTruthy();
    expect(sent).toEqual([{ method: "POST", url: "/v1/notifications/deliveries/d1/retry", body: null }]);
    // The school-wide list leaves the student's guardian out.
    const schoolWide = screen.getByRole("region", { name: "School-wide contacts" });
    expect(within(schoolWide).queryByText("Pat Guardian")).toBeNull();
    expect(within(schoolWide).getByText("School office")).toBeTruthy();
  });
});

describe("a student's guardian contacts", () => {
  it("adds a guardian for the student with the channels and topics ticked", async () => {
    const sent = stubApi({
      "GET /v1/notifications/contacts?student_id=s1": () => json(200, []),
      "POST /v1/notifications/contacts": () => json(201, { ...guardian, webhook_secret: null }),
    });
    renderIn(<ContactsSection studentId="s1" />);
    const form = await screen.findByRole("form", { name: "Add contact" });
    expect(screen.getByRole("heading", { name: "Guardian contacts" })).toBeTruthy();
    expect(within(form).queryByLabelText("Webhook URL")).toBeNull(); // only school-wide contacts post to a URL
    await userEvent.type(within(form).getByLabelText("Name"), "Pat Guardian");
    await userEvent.type(within(form).getByLabelText("Email address"), "pat@example.org");
    await userEvent.type(within(form).getByLabelText("Phone number"), "+33612345678");
    await userEvent.click(within(form).getByLabelText("SMS"));
    await userEvent.click(within(form).getByLabelText("Arrivals"));
    await userEvent.selectOptions(within(form).getByLabelText("Message language"), "fr");
    await userEvent.click(within(form).getByRole("button", { name: "Add contact" }));
    expect(await screen.findByText("Pat Guardian was added.")).toBeTruthy();
    expect(sent).toEqual([
      {
        method: "POST",
        url: "/v1/notifications/contacts",
        body: {
          name: "Pat Guardian", language: "fr", channels: ["email", "sms"], topics: ["absence", "arrival"],
          student_id: "s1", email: "pat@example.org", phone: "+33612345678",
        },
      },
    ]);
  });

  it("removes a contact only once the dialog is confirmed", async () => {
    let contacts = [guardian];
    const sent = stubApi({
      "GET /v1/notifications/contacts?student_id=s1": () => json(200, contacts),
      "DELETE /v1/notifications/contacts/k1": () => ((contacts = []), new Response(null, { status: 204 })),
    });
    renderIn(<ContactsSection studentId="s1" />);
    expect(await screen.findByText("Language: Français · Channels: Email, SMS · Topics: Absences")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "Remove Pat Guardian" }));
    const dialog = screen.getByRole("dialog", { name: "Remove Pat Guardian?" });
    expect(sent).toEqual([]);
    await userEvent.click(within(dialog).getByRole("button", { name: "Remove" }));
    expect(await screen.findByText("Pat Guardian was removed.")).toBeTruthy();
    expect(await screen.findByText("No contacts yet.")).toBeTruthy();
    expect(sent).toEqual([{ method: "DELETE", url: "/v1/notifications/contacts/k1", body: null }]);
  });

  it("sends only what an edit changed", async () => {
    const sent = stubApi({
      "GET /v1/notifications/contacts?student_id=s1": () => json(200, [guardian]),
      "PATCH /v1/notifications/contacts/k1": () => json(200, { ...guardian, channels: ["sms"], webhook_secret: null }),
    });
    renderIn(<ContactsSection studentId="s1" />);
    await userEvent.click(await screen.findByRole("button", { name: "Edit Pat Guardian" }));
    const form = screen.getByRole("form", { name: "Edit contact Pat Guardian" });
    await userEvent.click(within(form).getByLabelText("Email"));
    await userEvent.clear(within(form).getByLabelText("Email address"));
    await userEvent.click(within(form).getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Pat Guardian was saved.")).toBeTruthy();
    expect(sent).toEqual([{ method: "PATCH", url: "/v1/notifications/contacts/k1", body: { email: null, channels: ["sms"] } }]);
  });
});

describe("a school-wide webhook", () => {
  it("shows the signing secret once, when the contact is created", async () => {
    stubApi({
      "GET /v1/notifications/contacts": () => json(200, []),
      "POST /v1/notifications/contacts": () =>
        json(201, { ...contact("k3", "SIS"), email: null, webhook_url: "https://sis.example.org/hook", channels: ["webhook"], webhook_secret: "whsec_abc" }),
    });
    renderIn(<ContactsSection />);
    const form = await screen.findByRole("form", { name: "Add contact" });
    await userEvent.type(within(form).getByLabelText("Name"), "SIS");
    await userEvent.click(within(form).getByLabelText("Email"));
    await userEvent.click(within(form).getByLabelText("Webhook"));
    await userEvent.type(within(form).getByLabelText("Webhook URL"), "https://sis.example.org/hook");
    await userEvent.click(within(form).getByRole("button", { name: "Add contact" }));
    expect((await screen.findByTestId("webhook-secret")).textContent).toBe("whsec_abc");
    expect(screen.getByText(/shown once/)).toBeTruthy();
  });
});
