import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ROUTER_FUTURE } from "../App";
import { formatTime } from "../ui/common";
import { StudentPage } from "./StudentPage";
import { StudentsPage } from "./StudentsPage";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const student = {
  id: "s1", school_id: "x", student_number: "N-7", first_name: "Kim", last_name: "Camera", display_name: "Kim Camera",
  birth_date: null, guardian_email: null, active: true, enrollment_status: "enrolled", created_at: "", updated_at: "",
};
const consent = { id: "c", student_id: "s1", version: "2026-1", granted_by_name: "Pat", granted_by_relation: "guardian", granted_at: "2026-11-01T10:00:00Z", withdrawn_at: null };
const totals = { counted: 0, present: 0, late: 0, absent: 0, excused: 0, rate: null };
const emptyReport = { student_id: "s1", student_number: "N-7", display_name: "Kim Camera", timezone: "UTC", date_from: "", date_to: "", totals, rows: [] };
const state = { student_id: "s1", enrollment_status: "enrolled", templates: 5, model: "sface", enrolled_at: "2026-11-01T10:00:00Z", consent, consent_current: true };

function renderStudent(
  erase: () => Response,
  enroll: (form: FormData) => Response = () => json(404, { error: { code: "not_found", message: "Not Found" } }),
  isAdmin = true,
  /** This test's own answers, asked first; undefined: the defaults below. */
  answer: (url: string, init: RequestInit) => Response | undefined = () => undefined,
) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit) => {
      const own = answer(url, init);
      if (own) return own;
      if (url === "/v1/students/s1") return json(200, student);
      if (url.startsWith("/v1/reports/students/s1")) return json(200, emptyReport);
      if (url.startsWith("/v1/notifications/contacts")) return json(200, []);
      if (url === "/v1/students/s1/enrollment" && init.method === "POST") return enroll(init.body as FormData);
      if (url === "/v1/students/s1/enrollment") return json(200, state);
      if (url === "/v1/students/s1/erase" && init.method === "POST") return erase();
      if (url.startsWith("/v1/students")) return json(200, { items: [], total: 0, limit: 25, offset: 0 });
      return json(404, { error: { code: "not_found", message: "Not Found" } });
    }),
  );
  sessionStorage.setItem("rollcall.access", "a");
  render(
    <MemoryRouter initialEntries={["/console/students/s1"]} future={ROUTER_FUTURE}>
      <Routes>
        <Route path="/console/students/:studentId" element={<StudentPage isAdmin={isAdmin} />} />
        <Route path="/console/students" element={<StudentsPage isAdmin={isAdmin} />} />
      </Routes>
    </MemoryRouter>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("erasing a student", () => {
  it("asks to type the student number, then erases and says so", async () => {
    renderStudent(() => json(200, { receipt_id: "r-1", state: "completed" }));
    await userEvent.click(await screen.findByRole("button", { name: "Erase student…" }));
    const confirm = screen.getByRole("button", { name: "Erase for good" });
    expect((confirm as HTMLButtonElement).disabled).toBe(true);
    await userEvent.type(screen.getByLabelText(/to confirm/), "N-7");
    await userEvent.click(confirm);
    expect((await screen.findByRole("status")).textContent).toContain("Kim Camera was erased (completed; receipt r-1)");
  });

  it("says so when the server has no erasure yet", async () => {
    renderStudent(() => json(404, { error: { code: "not_found", message: "Not Found" } }));
    await userEvent.click(await screen.findByRole("button", { name: "Erase student…" }));
    await userEvent.type(screen.getByLabelText(/to confirm/), "N-7");
    await userEvent.click(screen.getByRole("button", { name: "Erase for good" }));
    expect((await screen.findByRole("alert")).textContent).toContain("not available on this server yet");
  });
});

describe("enrolling a different face", () => {
  const verdict = (index: number) => ({ index, accepted: true, reasons: [], codes: [], quality: null });
  const mismatch = () =>
    json(409, { error: { code: "face_mismatch", message: "these photos do not match", details: {} } });
  const files = ["a", "b", "c"].map((name) => new File([name], `${name}.jpg`, { type: "image/jpeg" }));
  let blobs = 0;
  // jsdom has no object URLs: each photo preview gets its own (kept past the test: previews are revoked on
  // unmount, after the globals are unstubbed).
  const withObjectUrls = () => Object.assign(URL, { createObjectURL: () => `blob:${++blobs}`, revokeObjectURL: () => {} });

  it("says why, and lets an admin confirm the replacement, which is sent as replace=true", async () => {
    withObjectUrls();
    const sent: (string | null)[] = [];
    renderStudent(
      () => json(404, {}),
      (form) => {
        sent.push(form.get("replace") as string | null);
        if (form.get("replace") !== "true") return mismatch();
        return json(201, { student_id: "s1", enrollment_status: "enrolled", templates: 3, model: "sface", replaced: true, photos: [0, 1, 2].map(verdict) });
      },
    );
    await userEvent.upload(await screen.findByTestId("enroll-files"), files);
    await userEvent.click(screen.getByRole("button", { name: "Enroll 3 photo(s)" }));
    expect((await screen.findByRole("alert")).textContent).toContain("do not match the face already enrolled");
    await userEvent.click(screen.getByRole("button", { name: "Replace the enrolled face with these photos" }));
    expect(await screen.findByText(/replacing the face enrolled before/)).toBeTruthy();
    expect(sent).toEqual([null, "true"]);
  });

  it("offers a teacher no replacement", async () => {
    withObjectUrls();
    renderStudent(() => json(404, {}), mismatch, false);
    await userEvent.upload(await screen.findByTestId("enroll-files"), files);
    await userEvent.click(screen.getByRole("button", { name: "Enroll 3 photo(s)" }));
    expect((await screen.findByRole("alert")).textContent).toContain("Only an administrator can replace");
    expect(screen.queryByRole("button", { name: /Replace the enrolled face/ })).toBeNull();
  });
});

describe("editing a student", () => {
  it("sends only the fields changed, a cleared one as null, and says it saved", async () => {
    const withEmail = { ...student, guardian_email: "pat@home.org" };
    const patches: unknown[] = [];
    let reads = 0;
    renderStudent(
      () => json(404, {}),
      undefined,
      true,
      (url, init) => {
        if (url !== "/v1/students/s1") return undefined;
        if (init.method === "PATCH") {
          const patch = JSON.parse(String(init.body)) as Record<string, unknown>;
          patches.push(patch);
          return json(200, { ...withEmail, ...patch });
        }
        reads++;
        return json(200, withEmail);
      },
    );
    const form = await screen.findByRole("form", { name: "Edit student" });
    const name = within(form).getByLabelText("Display name");
    await userEvent.clear(name);
    await userEvent.type(name, "Kimmy");
    await userEvent.clear(within(form).getByLabelText("Guardian email"));
    await userEvent.click(within(form).getByLabelText("Active"));
    await userEvent.click(within(form).getByRole("button", { name: "Save changes" }));
    expect(await within(form.parentElement!).findByRole("status")).toHaveProperty("textContent", "Changes saved.");
    expect(patches).toEqual([{ display_name: "Kimmy", guardian_email: null, active: false }]);
    expect(reads).toBe(2); // the page read the record again
  });

  it("sends nothing when nothing changed", async () => {
    const methods: (string | undefined)[] = [];
    renderStudent(() => json(404, {}), undefined, true, (url, init) => {
      if (url === "/v1/students/s1") methods.push(init.method);
      return undefined;
    });
    const form = await screen.findByRole("form", { name: "Edit student" });
    await userEvent.click(within(form).getByRole("button", { name: "Save changes" }));
    expect(await within(form.parentElement!).findByRole("status")).toHaveProperty("textContent", "Nothing was changed.");
    expect(methods).not.toContain("PATCH");
  });

  it("is not offered to a teacher", async () => {
    renderStudent(() => json(404, {}), undefined, false);
    expect(await screen.findByRole("heading", { name: "Attendance history" })).toBeTruthy();
    expect(screen.queryByRole("form", { name: "Edit student" })).toBeNull();
  });
});

describe("attendance history", () => {
  const rows = [
    { lesson_id: "l1", class_id: "k", class_code: "4B", starts_at: "2026-11-02T08:00:00Z", status: "late", method: "manual", recorded_at: "2026-11-02T08:20:00Z", attendance_id: "a1" },
    { lesson_id: "l2", class_id: "k", class_code: "4B", starts_at: "2026-11-03T08:00:00Z", status: "absent", method: null, recorded_at: null, attendance_id: null },
  ];
  const report = { ...emptyReport, totals: { counted: 2, present: 0, late: 1, absent: 1, excused: 0, rate: 0.5 }, rows };
  const change = { id: "ch1", attendance_id: "a1", changed_by: "user:t1", changed_at: "2026-11-02T09:00:00Z", old_status: "absent", new_status: "late", reason: "bus was late" };

  it("shows the last 30 days' lessons and one record's changes", async () => {
    const asked: string[] = [];
    renderStudent(() => json(404, {}), undefined, false, (url) => {
      if (url.startsWith("/v1/reports/students/s1")) return asked.push(url), json(200, report);
      if (url === "/v1/attendance/a1/changes") return json(200, [change]);
      return undefined;
    });
    const table = await screen.findByRole("table", { name: "Lessons of the student" });
    const query = new URLSearchParams(asked[0].split("?")[1]);
    const days = (Date.parse(query.get("to")!) - Date.parse(query.get("from")!)) / 86_400_000;
    expect(days).toBe(30);
    expect(screen.getByText(/Counted: 2 · present: 0 · late: 1 · absent: 1 · excused: 0 · rate: 50%/)).toBeTruthy();
    const [first, second] = within(table).getAllByRole("row").slice(1);
    expect(first.textContent).toContain("4B");
    expect(first.textContent).toContain("late");
    expect(first.textContent).toContain("by hand");
    expect(within(second).queryByRole("button")).toBeNull(); // no record, no history
    const open = within(first).getByRole("button", { name: `Changes to the record of ${formatTime(rows[0].starts_at)}` });
    await userEvent.click(open);
    expect(open.getAttribute("aria-expanded")).toBe("true");
    const item = await screen.findByRole("listitem");
    expect(item.textContent).toContain(`${formatTime(change.changed_at)}, by user:t1:`);
    expect(item.textContent).toContain("absent → late");
    expect(item.textContent).toContain("Reason: bus was late");
  });

  it("asks again for a new range", async () => {
    const asked: string[] = [];
    renderStudent(() => json(404, {}), undefined, true, (url) => {
      if (url.startsWith("/v1/reports/students/s1")) return asked.push(url), json(200, report);
      return undefined;
    });
    await screen.findByRole("table", { name: "Lessons of the student" });
    const from = screen.getByLabelText("From");
    await userEvent.clear(from);
    await userEvent.type(from, "2026-09-01");
    await waitFor(() => expect(asked.at(-1)).toContain("from=2026-09-01"));
  });

  it("says why a record's changes are refused", async () => {
    renderStudent(() => json(404, {}), undefined, false, (url) => {
      if (url.startsWith("/v1/reports/students/s1")) return json(200, report);
      if (url === "/v1/attendance/a1/changes") return json(403, { error: { code: "forbidden", message: "forbidden" } });
      return undefined;
    });
    await userEvent.click(await screen.findByRole("button", { name: /^Changes to the record of/ }));
    expect((await screen.findByRole("alert")).textContent).toContain("Your role may not do this.");
  });
});
