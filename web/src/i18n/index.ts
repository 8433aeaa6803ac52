// The UI's languages: a small typed message catalogue rather than i18next. Why: the English catalogue is the
// type of every other one, so a missing or misspelt key fails `tsc` (not a page at run time); pure functions
// outside React (kiosk outcomes, error codes) translate with the same `t`; and nothing is loaded at run time,
// which the offline kiosk needs. The cost, plural rules, is avoided by phrasing: messages take counts as
// values ("Photos: {count}"), never inflect on them.

import { useSyncExternalStore } from "react";
import { en, type MessageKey } from "./en";
import { es } from "./es";
import { fr } from "./fr";

export type { MessageKey } from "./en";
export type Catalogue = Record<MessageKey, string>;
export type Values = Record<string, string | number>;

export const CATALOGUES = { en, fr, es } satisfies Record<string, Catalogue>;
export type Locale = keyof typeof CATALOGUES;
export const LOCALES = Object.keys(CATALOGUES) as Locale[];
/** Each language in its own words, for the picker. */
export const LANGUAGE_NAMES: Record<Locale, string> = { en: "English", fr: "Français", es: "Español" };

const STORAGE_KEY = "rollcall.locale";

const isLocale = (value: unknown): value is Locale => typeof value === "string" && Object.hasOwn(CATALOGUES, value);

/** The first of the browser's languages (navigator.languages, most preferred first) that the UI speaks,
 * by primary subtag ("fr-CA" is French), else English. */
export function negotiate(preferred: readonly string[]): Locale {
  for (const tag of preferred) {
    const primary = tag.toLowerCase().split("-")[0];
    if (isLocale(primary)) return primary;
  }
  return "en";
}

function initialLocale(): Locale {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (isLocale(stored)) return stored;
  } catch {
    // storage disabled: the browser's language
  }
  const nav = typeof navigator === "undefined" ? undefined : navigator;
  return negotiate(nav?.languages?.length ? nav.languages : [nav?.language ?? "en"]);
}

let current: Locale = initialLocale();
const listeners = new Set<() => void>();

function applyToDocument(locale: Locale): void {
  if (typeof document !== "undefined") document.documentElement.lang = locale;
}
applyToDocument(current);

export function getLocale(): Locale {
  return current;
}

/** The person's choice: kept in localStorage (it outlives the tab, like a kiosk's key), `<html lang>` set. */
export function setLocale(locale: Locale): void {
  current = locale;
  try {
    localStorage.setItem(STORAGE_KEY, locale);
  } catch {
    // not kept, but still applied
  }
  applyToDocument(locale);
  listeners.forEach((listener) => listener());
}

/** Reads the kept choice and the browser's languages again, as a page load does (the tests use it). */
export function reloadLocale(): void {
  current = initialLocale();
  applyToDocument(current);
  listeners.forEach((listener) => listener());
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The current language; a component that calls it renders again (with its children) when it changes. */
export function useLocale(): Locale {
  return useSyncExternalStore(subscribe, getLocale);
}

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/** A value's word in the person's language (``area.value`` in the catalogue: a check-in method, a relation,
 * a channel); a value the catalogue does not know yet (a newer server) is shown as it is. */
export function wordFor(area: string, value: string): string {
  const key = `${area}.${value}`;
  return isMessageKey(key) ? t(key) : value;
}

/** The message in the current language, `{name}` placeholders filled from ``values``. */
export function t(key: MessageKey, values: Values = {}): string {
  const text = CATALOGUES[current][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : whole));
}
