import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ROUTER_FUTURE } from "../App";
import { StudentPage } from "./StudentPage";
import { StudentsPage } from "./StudentsPage";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const student = {
  id: "s1", school_id: "x", student_number: "N-7", first_name: "Kim", last_name: "Camera", display_name: "Kim Camera",
  birth_date: null, guardian_email: null, active: true, enrollment_status: "enrolled", created_at: "", updated_at: "",
};
const consent = { id: "c", student_id: "s1", version: "2026-1", granted_by_name: "Pat", granted_by_relation: "guardian", granted_at: "2026-11-01T10:00:00Z", withdrawn_at: null };
const state = { student_id: "s1", enrollment_status: "enrolled", templates: 5, model: "sface", enrolled_at: "2026-11-01T10:00:00Z", consent, consent_current: true };

function renderStudent(
  erase: () => Response,
  enroll: (form: FormData) => Response = () => json(404, { error: { code: "not_found", message: "Not Found" } }),
  isAdmin = true,
) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit) => {
      if (url === "/v1/students/s1") return json(200, student);
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
