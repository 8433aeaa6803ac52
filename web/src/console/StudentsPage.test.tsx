import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ROUTER_FUTURE } from "../App";
import { StudentsPage } from "./StudentsPage";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const refused = (code: string, details: unknown) => json(422, { error: { code, message: "English for logs", details } });

const file = new File(["student_number,first_name,last_name\nN-1,Ana,Diaz\n"], "roster.csv", { type: "text/csv" });

/** The students page as an admin, with ``importAnswer`` answering each POST to the import. */
function renderImport(importAnswer: (form: FormData) => Response) {
  const sent: FormData[] = [];
  let listings = 0;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit) => {
      if (url === "/v1/students/import" && init.method === "POST") {
        sent.push(init.body as FormData);
        return importAnswer(init.body as FormData);
      }
      if (url.startsWith("/v1/students?")) return listings++, json(200, { items: [], total: 0, limit: 25, offset: 0 });
      return json(404, { error: { code: "not_found", message: "Not Found" } });
    }),
  );
  sessionStorage.setItem("rollcall.access", "a");
  render(
    <MemoryRouter future={ROUTER_FUTURE}>
      <StudentsPage isAdmin />
    </MemoryRouter>,
  );
  return { sent, listings: () => listings };
}

async function send(button: "Check file" | "Import") {
  const form = await screen.findByRole("form", { name: "Import students from CSV" });
  await userEvent.upload(within(form).getByLabelText("CSV file"), file);
  await userEvent.click(within(form).getByRole("button", { name: button }));
}

afterEach(() => vi.unstubAllGlobals());

describe("importing students from CSV", () => {
  it("checks the file with dry_run=true and says how many rows are fine", async () => {
    const { sent, listings } = renderImport(() => json(200, { rows: 2, imported: 0, dry_run: true, errors: [], memberships: 0 }));
    await send("Check file");
    expect((await screen.findByRole("status")).textContent).toContain("The file is fine: 2 row(s) checked. Nothing was imported yet");
    expect(sent).toHaveLength(1);
    expect(sent[0].get("dry_run")).toBe("true");
    expect((sent[0].get("file") as File).name).toBe("roster.csv");
    expect(listings()).toBe(1);
  });

  it("imports with dry_run=false, reports the counts and reloads the list", async () => {
    const { sent, listings } = renderImport(() => json(200, { rows: 3, imported: 3, dry_run: false, errors: [], memberships: 4 }));
    await send("Import");
    expect((await screen.findByRole("status")).textContent).toBe(
      "Import finished: 3 row(s) checked, 3 student(s) imported, 4 class membership(s) added.",
    );
    expect(sent[0].get("dry_run")).toBe("false");
    expect(listings()).toBe(2);
  });

  it("lists each refused row's problem in words, never the server's English, and says nothing was imported", async () => {
    const errors = [
      { row: 2, field: "birth_date", code: "invalid_value", value: null, message: "Input should be a valid date" },
      { row: 3, field: "student_number", code: "repeated_number", value: "N-1", message: "'N-1' already appears on line 2" },
      { row: 4, field: "student_number", code: "number_taken", value: "N-9", message: "'N-9' already exists" },
      { row: 5, field: "class_codes", code: "unknown_class", value: "9Z", message: "no class with code '9Z'" },
      { row: 6, field: null, code: "extra_cells", value: null, message: "the row has more cells than the header" },
    ];
    renderImport(() => refused("import_rejected", { rows: 5, imported: 0, dry_run: false, errors, memberships: 0 }));
    await send("Import");
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Nothing was imported. 5 problem(s) found in 5 row(s).");
    const cells = within(within(alert).getByRole("table", { name: "Problems in the file" }))
      .getAllByRole("row")
      .slice(1)
      .map((row) => within(row).getAllByRole("cell").map((cell) => cell.textContent));
    expect(cells).toEqual([
      ["2", "birth_date", "The value in column birth_date is missing or not valid."],
      ["3", "student_number", "Student number N-1 appears more than once in the file."],
      ["4", "student_number", "Student number N-9 already belongs to a student of the school."],
      ["5", "class_codes", "No class has the code 9Z."],
      ["6", "(whole row)", "The row has more cells than the header row."],
    ]);
    expect(alert.textContent).not.toContain("already exists");
  });

  it("names the header's missing and unknown columns", async () => {
    renderImport(() => refused("invalid_csv", { missing: ["first_name", "last_name"], unknown: ["nickname"] }));
    await send("Check file");
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Nothing was imported.");
    expect(within(alert).getByText("Missing columns: first_name, last_name")).toBeTruthy();
    expect(within(alert).getByText("Unknown columns: nickname")).toBeTruthy();
  });

  it("gives the row limit of a file too long", async () => {
    renderImport(() => refused("too_many_rows", { max_rows: 5000 }));
    await send("Import");
    expect((await screen.findByRole("alert")).textContent).toContain("The file has more than 5000 rows.");
  });

  it("offers a template with the header row only", async () => {
    const blobs: Blob[] = [];
    Object.assign(URL, { createObjectURL: (blob: Blob) => (blobs.push(blob), "blob:t"), revokeObjectURL: () => {} });
    const saved: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(this.download); // jsdom cannot follow the link
    });
    renderImport(() => json(500, {}));
    await userEvent.click(await screen.findByRole("button", { name: "Download a template" }));
    click.mockRestore();
    expect(saved).toEqual(["students-template.csv"]);
    // jsdom's Blob has no text(): read it as a browser of old would
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsText(blobs[0]);
    });
    expect(text).toBe("student_number,first_name,last_name,display_name,birth_date,guardian_email,class_codes\r\n");
  });
});
