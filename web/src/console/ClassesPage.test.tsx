import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ROUTER_FUTURE } from "../App";
import { resumeSession, signOut } from "../api/session";
import { formatTime } from "../ui/common";
import { ClassPage } from "./ClassPage";
import { ClassesPage } from "./ClassesPage";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const page = (items: unknown[]) => ({ items, total: items.length, limit: 200, offset: 0 });
const none = () => new Response(null, { status: 204 });

const user = (id: string, full_name: string, role: string, is_active = true) => ({
  id, school_id: "sch", email: `${id}@school.org`, full_name, role, student_id: null, is_active, mfa_enabled: true,
});
const tom = user("t1", "Tom Teach", "teacher");
const klass = { id: "c1", school_id: "sch", code: "7B", name: "Physics", teacher_id: "t1", room: "B12", created_at: "2026-09-01T08:00:00Z" };
const ann = {
  id: "st1", school_id: "sch", student_number: "N-1", first_name: "Ann", last_name: "Able", display_name: "Ann Able",
  birth_date: null, guardian_email: null, active: true, enrollment_status: "enrolled", created_at: "", updated_at: "",
};
const row = (day: string, overlaps: string | null = null) => ({
  day, starts_at: `${day}T06:15:00Z`, ends_at: `${day}T07:00:00Z`, lesson_id: null, overlaps,
});

type Sent = { method: string; url: string; body: unknown };
type Handler = (method: string, url: string, body: unknown) => Response | undefined;

/** Answers the page's reads with one class, its member and the school's teachers; ``handle`` answers first. */
function stubApi(handle: Handler = () => undefined): Sent[] {
  const sent: Sent[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit) => {
      const method = init.method ?? "GET";
      const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
      sent.push({ method, url, body });
      const answer = handle(method, url, body);
      if (answer) return answer;
      if (url.startsWith("/v1/users")) return json(200, page([tom, user("t2", "Gone Teacher", "teacher", false)]));
      if (url === "/v1/classes/c1") return json(200, klass);
      if (url.startsWith("/v1/classes/c1/members")) return json(200, page([ann]));
      if (url.startsWith("/v1/classes/c1/lessons")) return json(200, page([]));
      if (url.startsWith("/v1/classes")) return json(200, page([klass]));
      if (url.startsWith("/v1/students")) return json(200, page([ann]));
      return json(404, { error: { code: "not_found", message: "Not Found" } });
    }),
  );
  sessionStorage.setItem("rollcall.access", "a");
  return sent;
}

function renderAt(path: string, isAdmin = true) {
  render(
    <MemoryRouter initialEntries={[path]} future={ROUTER_FUTURE}>
      <Routes>
        <Route path="/console/classes" element={<ClassesPage isAdmin={isAdmin} />} />
        <Route path="/console/classes/:classId" element={<ClassPage isAdmin={isAdmin} />} />
      </Routes>
    </MemoryRouter>,
  );
}

const calls = (sent: Sent[], method: string, url: string) => sent.filter((s) => s.method === method && s.url === url);

afterEach(async () => {
  await signOut();
  vi.unstubAllGlobals();
});

describe("the classes list", () => {
  it("names each class's teacher and sends the teacher chosen for a new class", async () => {
    const sent = stubApi((method) => (method === "POST" ? json(201, klass) : undefined));
    renderAt("/console/classes");
    const table = await screen.findByRole("table", { name: "Classes" });
    await waitFor(() => expect(within(table).getByText("Tom Teach")).toBeTruthy());
    const form = screen.getByRole("form", { name: "New class" });
    const select = within(form).getByLabelText("Teacher");
    expect(within(select).queryByText("Gone Teacher")).toBeNull(); // deactivated teachers are not offered
    await userEvent.type(within(form).getByLabelText("Code"), "8A");
    await userEvent.type(within(form).getByLabelText("Name"), "Maths");
    await userEvent.selectOptions(select, "Tom Teach");
    await userEvent.click(within(form).getByRole("button", { name: "Create class" }));
    await waitFor(() => expect(calls(sent, "POST", "/v1/classes")).toHaveLength(1));
    expect(calls(sent, "POST", "/v1/classes")[0].body).toEqual({ code: "8A", name: "Maths", room: null, teacher_id: "t1" });
  });

  it("shows a teacher their own name on their classes, without listing users", async () => {
    const sent = stubApi((_method, url) => (url === "/v1/auth/me" ? json(200, tom) : undefined));
    sessionStorage.setItem("rollcall.refresh", "r");
    await resumeSession();
    renderAt("/console/classes", false);
    const table = await screen.findByRole("table", { name: "Classes" });
    expect(within(table).getByText("Tom Teach")).toBeTruthy();
    expect(sent.some((s) => s.url.startsWith("/v1/users"))).toBe(false);
  });
});

describe("a class's page", () => {
  it("saves an edited class with a PATCH and loads it again", async () => {
    const sent = stubApi((method) => (method === "PATCH" ? json(200, { ...klass, name: "Physics 2", teacher_id: null }) : undefined));
    renderAt("/console/classes/c1");
    const form = await screen.findByRole("form", { name: "Edit class" });
    const name = within(form).getByLabelText("Name");
    await waitFor(() => expect((within(form).getByLabelText("Teacher") as HTMLSelectElement).value).toBe("t1"));
    await userEvent.clear(name);
    await userEvent.type(name, "Physics 2");
    await userEvent.selectOptions(within(form).getByLabelText("Teacher"), "No teacher");
    await userEvent.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(calls(sent, "PATCH", "/v1/classes/c1")).toHaveLength(1));
    expect(calls(sent, "PATCH", "/v1/classes/c1")[0].body).toEqual({ code: "7B", name: "Physics 2", room: "B12", teacher_id: null });
    await waitFor(() => expect(calls(sent, "GET", "/v1/classes/c1")).toHaveLength(2));
  });

  it("shows why a class with lessons cannot be deleted", async () => {
    const sent = stubApi((method) =>
      method === "DELETE" ? json(409, { error: { code: "in_use", message: "the class has lessons" } }) : undefined,
    );
    renderAt("/console/classes/c1");
    await userEvent.click(await screen.findByRole("button", { name: "Delete class" }));
    const dialog = screen.getByRole("dialog", { name: "Delete class 7B?" });
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete class" }));
    expect((await screen.findByRole("alert")).textContent).toContain("still in use");
    expect(calls(sent, "DELETE", "/v1/classes/c1")).toHaveLength(1);
  });

  it("goes back to the classes list once the class is deleted", async () => {
    stubApi((method) => (method === "DELETE" ? none() : undefined));
    renderAt("/console/classes/c1");
    await userEvent.click(await screen.findByRole("button", { name: "Delete class" }));
    await userEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Delete class" }));
    expect(await screen.findByRole("heading", { name: "Classes" })).toBeTruthy();
  });

  it("removes a student after a confirmation saying their records stay", async () => {
    const sent = stubApi((method) => (method === "DELETE" ? none() : undefined));
    renderAt("/console/classes/c1");
    await userEvent.click(await screen.findByRole("button", { name: "Remove Ann Able from the class" }));
    const dialog = screen.getByRole("dialog", { name: "Remove Ann Able from the class?" });
    expect(dialog.textContent).toContain("records stay");
    expect(calls(sent, "DELETE", "/v1/classes/c1/members/st1")).toHaveLength(0); // nothing before the confirmation
    await userEvent.click(within(dialog).getByRole("button", { name: "Remove" }));
    await waitFor(() => expect(calls(sent, "DELETE", "/v1/classes/c1/members/st1")).toHaveLength(1));
    await waitFor(() => expect(sent.filter((s) => s.url.startsWith("/v1/classes/c1/members?")).length).toBe(2));
  });
});

/** Mondays and Wednesdays 08:15 for 45 minutes, 7 to 16 September 2026, the 9th a holiday. */
async function fillWeekly(): Promise<HTMLElement> {
  const form = await screen.findByRole("form", { name: "Weekly lessons" });
  await userEvent.click(within(form).getByRole("checkbox", { name: "Monday" }));
  await userEvent.click(within(form).getByRole("checkbox", { name: "Wednesday" }));
  fireEvent.change(within(form).getByLabelText("Start time"), { target: { value: "08:15" } });
  fireEvent.change(within(form).getByLabelText("Duration (min)"), { target: { value: "45" } });
  fireEvent.change(within(form).getByLabelText("First day"), { target: { value: "2026-09-07" } });
  fireEvent.change(within(form).getByLabelText("Last day"), { target: { value: "2026-09-16" } });
  fireEvent.change(within(form).getByLabelText("Holiday"), { target: { value: "2026-09-09" } });
  await userEvent.click(within(form).getByRole("button", { name: "Add" }));
  return form;
}

const series = (dryRun: boolean) => ({
  weekdays: ["mon", "wed"], start_time: "08:15", duration_minutes: 45, date_from: "2026-09-07", date_to: "2026-09-16",
  skip_dates: ["2026-09-09"], grace_minutes: 5, allow_overlap: false, dry_run: dryRun,
});
const RECURRING = "/v1/classes/c1/lessons/recurring";

describe("weekly lessons", () => {
  it("previews the planned dates with a dry run", async () => {
    const plan = { created: 0, dry_run: true, lessons: [row("2026-09-07"), row("2026-09-14"), row("2026-09-16")], skipped: ["2026-09-09"] };
    const sent = stubApi((method, url) => (method === "POST" && url === RECURRING ? json(200, plan) : undefined));
    renderAt("/console/classes/c1");
    const form = await fillWeekly();
    await userEvent.click(within(form).getByRole("button", { name: "Preview" }));
    const report = await within(form).findByRole("region", { name: "Planned lessons" });
    expect(calls(sent, "POST", RECURRING)[0].body).toEqual(series(true));
    expect(report.textContent).toContain("Planned lessons: 3");
    expect(report.textContent).toContain(formatTime("2026-09-14T06:15:00Z"));
    expect(report.textContent).toContain("Skipped (holidays): Sep 9, 2026");
  });

  it("shows the dates that clash, then creates the series where lessons overlap", async () => {
    const refusal = { created: 0, dry_run: false, lessons: [row("2026-09-07"), row("2026-09-14", "l9"), row("2026-09-16")], skipped: ["2026-09-09"] };
    const sent = stubApi((method, url, body) => {
      if (method !== "POST" || url !== RECURRING) return undefined;
      if (!(body as { allow_overlap: boolean }).allow_overlap)
        return json(409, { error: { code: "lesson_overlaps", message: "1 of the 3 lessons overlap", details: refusal } });
      return json(200, { ...refusal, created: 3 });
    });
    renderAt("/console/classes/c1");
    const form = await fillWeekly();
    await userEvent.click(within(form).getByRole("button", { name: "Create lessons" }));
    expect((await within(form).findByRole("alert")).textContent).toContain("overlaps it in the same room");
    const report = within(form).getByRole("region", { name: "Planned lessons" });
    const clash = within(report).getByText("Overlaps another lesson").closest("li");
    expect(clash?.textContent).toContain(formatTime("2026-09-14T06:15:00Z"));
    expect(within(report).getAllByText("Overlaps another lesson")).toHaveLength(1);
    expect(calls(sent, "POST", RECURRING)[0].body).toEqual(series(false));

    await userEvent.click(within(form).getByRole("checkbox", { name: "Create even where lessons overlap" }));
    await userEvent.click(within(form).getByRole("button", { name: "Create lessons" }));
    expect((await within(form).findByRole("status")).textContent).toBe("Lessons created: 3");
    expect(calls(sent, "POST", RECURRING)[1].body).toEqual({ ...series(false), allow_overlap: true });
    await waitFor(() => expect(sent.filter((s) => s.url.startsWith("/v1/classes/c1/lessons?")).length).toBe(2));
  });

  it("is offered to the class's teacher, not only to admins", async () => {
    stubApi((_method, url) => (url === "/v1/auth/me" ? json(200, tom) : url === "/v1/schools/sch" ? json(200, { timezone: "Europe/Paris" }) : undefined));
    sessionStorage.setItem("rollcall.refresh", "r");
    await resumeSession();
    renderAt("/console/classes/c1", false);
    const form = await screen.findByRole("form", { name: "Weekly lessons" });
    await waitFor(() => expect(form.textContent).toContain("Europe/Paris"));
    expect(screen.queryByRole("form", { name: "Edit class" })).toBeNull();
    expect(screen.queryByRole("button", { name: /^Remove Ann Able/ })).toBeNull();
  });
});
