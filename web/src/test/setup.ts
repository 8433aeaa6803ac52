import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";
import { reloadLocale } from "../i18n";

afterEach(() => {
  cleanup();
  sessionStorage.clear();
  localStorage.clear();
  reloadLocale(); // each test starts in the browser's language (jsdom: English)
});
