import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { LanguagePicker } from "./LanguagePicker";
import { getLocale, negotiate, reloadLocale, t, useLocale } from "./index";

function Probe() {
  useLocale();
  return <h1>{t("nav.students")}</h1>;
}

describe("the language", () => {
  it("is the first of the browser's languages the UI speaks, by primary subtag, else English", () => {
    expect(negotiate(["fr-CA", "en-GB"])).toBe("fr");
    expect(negotiate(["de-DE", "es-MX", "fr"])).toBe("es");
    expect(negotiate(["de", "ja"])).toBe("en");
    expect(negotiate([])).toBe("en");
  });

  it("follows navigator.languages when nothing was chosen", () => {
    vi.spyOn(navigator, "languages", "get").mockReturnValue(["es-ES", "en"]);
    reloadLocale();
    expect(getLocale()).toBe("es");
    expect(document.documentElement.lang).toBe("es");
    vi.restoreAllMocks();
  });

  it("switches from the menu: the page changes, <html lang> too, and the choice is kept", async () => {
    render(
      <>
        <LanguagePicker />
        <Probe />
      </>,
    );
    expect(screen.getByRole("heading").textContent).toBe("Students");
    await userEvent.selectOptions(screen.getByLabelText("Language"), "fr");
    expect(screen.getByRole("heading").textContent).toBe("Élèves");
    expect(screen.getByLabelText("Langue")).toBeTruthy(); // the menu's own label follows
    expect(document.documentElement.lang).toBe("fr");
    expect(localStorage.getItem("rollcall.locale")).toBe("fr");
  });

  it("prefers the kept choice to the browser's languages", () => {
    localStorage.setItem("rollcall.locale", "es");
    vi.spyOn(navigator, "languages", "get").mockReturnValue(["fr-FR"]);
    reloadLocale();
    expect(getLocale()).toBe("es");
    vi.restoreAllMocks();
  });

  it("fills placeholders and leaves unknown ones visible", () => {
    expect(t("outcome.recorded.title", { name: "Kim" })).toBe("Welcome, Kim");
    expect(t("outcome.recorded.title")).toBe("Welcome, {name}");
  });
});
