import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ROUTER_FUTURE } from "../App";
import { LessonPage } from "./LessonPage";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

// Over, so the page does not poll while the test runs.
const lesson = { id: "l1", class_id: "c1", starts_at: "2026-11-02T08:00:00Z", ends_at: "2026-11-02T09:00:00Z", closed_at: null, grace_minutes: 10, room: "B12" };
const row = (id: string, name: string, status: string) => ({
  student_id: id, display_name: name, student_number: `N-${id}`, status, method: null, recorded_at: null, confidence: null,
});
const report = {
  lesson_id: "l1", class_id: "c1", class_code: "7B", class_name: "Physics", starts_at: lesson.starts_at, ends_at: lesson.ends_at,
  timezone: "Europe/Paris", unknown_faces: 0, totals: { present: 1, late: 0, absent: 0, excused: 0, rate: 0.33 },
  rows: [row("s1", "Ana Ant", "pending"), row("s2", "Ben Bee", "present"), row("s3", "Cy Cat", "pending")],
};

function renderLesson(bulk: (body: unknown) => Response) {
  const sent: unknown[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit) => {
      if (url === "/v1/lessons/l1/attendance" && init.method === "POST") {
        const body = JSON.parse(String(init.body));
        sent.push(body);
        return bulk(body);
      }
      if (url === "/v1/lessons/l1") return json(200, lesson);
      if (url === "/v1/reports/lessons/l1") return json(200, report);
      return json(404, { error: { code: "not_found", message: "Not Found" } });
    }),
  );
  sessionStorage.setItem("rollcall.access", "a");
  render(
    <MemoryRouter initialEntries={["/console/lessons/l1"]} future={ROUTER_FUTURE}>
      <Routes>
        <Route path="/console/lessons/:lessonId" element={<LessonPage />} />
      </Routes>
    </MemoryRouter>,
  );
  return sent;
}

async function markAnaAndCyAbsent() {
  await userEvent.click(await screen.findByRole("checkbox", { name: "Select Ana Ant" }));
  await userEvent.click(screen.getByRole("checkbox", { name: "Select Cy Cat" }));
  const form = screen.getByRole("form", { name: "Mark selected" });
  await userEvent.selectOptions(within(form).getByLabelText("Status"), "absent");
  await userEvent.type(within(form).getByLabelText("Reason"), "fire drill");
  await userEvent.click(within(form).getByRole("button", { name: "Mark 2 student(s)" }));
}

afterEach(() => vi.unstubAllGlobals());

describe("marking several students at once", () => {
  it("sends the selection in one request, in the table's order, then says so and clears it", async () => {
    const sent = renderLesson(() => json(200, []));
    await markAnaAndCyAbsent();
    expect(await screen.findByText("2 student(s) marked")).toBeTruthy();
    expect(sent).toEqual([
      { reason: "fire drill", marks: [{ student_id: "s1", status: "absent" }, { student_id: "s3", status: "absent" }] },
    ]);
    expect((screen.getByRole("checkbox", { name: "Select Ana Ant" }) as HTMLInputElement).checked).toBe(false);
    expect((screen.getByRole("button", { name: "Mark 0 student(s)" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("keeps the selection when the server refuses the marks", async () => {
    const sent = renderLesson(() =>
      json(409, { error: { code: "not_in_class", message: "not in class", details: { student_id: "s3" } } }),
    );
    await markAnaAndCyAbsent();
    expect(await screen.findByRole("alert")).toBeTruthy();
    expect(sent).toHaveLength(1);
    expect((screen.getByRole("checkbox", { name: "Select Ana Ant" }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole("checkbox", { name: "Select Cy Cat" }) as HTMLInputElement).checked).toBe(true);
    expect(screen.getByRole("button", { name: "Mark 2 student(s)" })).toBeTruthy();
    expect(screen.queryByText("2 student(s) marked")).toBeNull();
  });

  it("selects every pending student with one button", async () => {
    renderLesson(() => json(200, []));
    await userEvent.click(await screen.findByRole("button", { name: "Select all pending" }));
    expect(screen.getByRole("button", { name: "Mark 2 student(s)" })).toBeTruthy();
    expect((screen.getByRole("checkbox", { name: "Select Ben Bee" }) as HTMLInputElement).checked).toBe(false);
  });
});
