import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ROUTER_FUTURE } from "../App";
import { Console } from "./Console";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const error = (status: number, code: string) => json(status, { error: { code, message: code.replace(/_/g, " ") } });

const admin = { id: "u", school_id: "s", email: "a@school.org", full_name: "Ada Admin", role: "admin", student_id: null, is_active: true, mfa_enabled: true };
const tokens = { access_token: "a1", refresh_token: "r1", token_type: "bearer", expires_in: 900 };
const emptyPage = { items: [], total: 0, limit: 200, offset: 0 };

function renderConsole(path = "/console/classes") {
  return render(
    <MemoryRouter initialEntries={[path]} future={ROUTER_FUTURE}>
      <Routes>
        <Route path="/console/*" element={<Console />} />
      </Routes>
    </MemoryRouter>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("sign-in", () => {
  it("asks an admin for the TOTP code after the password, then opens the console", async () => {
    const bodies: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        if (url === "/v1/auth/login") {
          const body = JSON.parse(String(init.body));
          bodies.push(body);
          return body.totp_code ? json(200, tokens) : error(401, "mfa_required");
        }
        if (url === "/v1/auth/me") return json(200, admin);
        return json(200, emptyPage);
      }),
    );
    renderConsole();
    await userEvent.type(await screen.findByLabelText("Email"), "a@school.org");
    await userEvent.type(screen.getByLabelText("Password"), "correct horse battery");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await userEvent.type(await screen.findByLabelText("Code from your authenticator app"), "123456");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Classes" })).toBeTruthy();
    expect(bodies).toEqual([
      { email: "a@school.org", password: "correct horse battery", totp_code: null },
      { email: "a@school.org", password: "correct horse battery", totp_code: "123456" },
    ]);
    expect(screen.getByRole("link", { name: "Audit log" })).toBeTruthy(); // admins see the audit log
  });

  it("shows a wrong password as an alert", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => error(401, "invalid_credentials")));
    renderConsole();
    await userEvent.type(await screen.findByLabelText("Email"), "a@school.org");
    await userEvent.type(screen.getByLabelText("Password"), "wrong");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toBe("The email or password is wrong."); // by its code, not the server's words
  });
});

describe("an expired session", () => {
  it("asks to sign in again on top of the page and keeps the form as typed", async () => {
    sessionStorage.setItem("rollcall.access", "a0");
    sessionStorage.setItem("rollcall.refresh", "r0");
    let expired = false;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        if (url === "/v1/auth/refresh") return error(401, "invalid_refresh_token");
        if (url === "/v1/auth/login") return json(200, tokens);
        const auth = (init.headers as Record<string, string>).Authorization;
        if (expired && auth !== "Bearer a1") return error(401, "token_expired");
        if (url === "/v1/auth/me") return json(200, admin);
        if (url === "/v1/classes" && init.method === "POST") return json(201, { id: "c" });
        return json(200, emptyPage);
      }),
    );
    renderConsole();
    const form = await screen.findByRole("form", { name: "New class" });
    await userEvent.type(screen.getByLabelText("Code"), "7B");
    await userEvent.type(screen.getByLabelText("Name"), "Physics");
    expired = true;
    await userEvent.click(screen.getByRole("button", { name: "Create class" }));

    const dialog = await screen.findByRole("dialog", { name: "Your session has ended" });
    expect(form.contains(screen.getByDisplayValue("Physics"))).toBe(true); // nothing typed was lost
    await userEvent.type(screen.getByLabelText("Password"), "correct horse battery");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(dialog.isConnected).toBe(false));
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("Physics");
  });
});
