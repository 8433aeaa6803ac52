// The language menu on every screen (console, sign-in, kiosk): each language named in itself.

import { useId } from "react";
import { LANGUAGE_NAMES, LOCALES, setLocale, t, useLocale, type Locale } from "./index";

export function LanguagePicker({ className }: { className?: string }) {
  const locale = useLocale();
  const id = useId();
  return (
    <span className={`language ${className ?? ""}`}>
      <label htmlFor={id}>{t("language.label")}</label>
      <select id={id} value={locale} onChange={(event) => setLocale(event.target.value as Locale)}>
        {LOCALES.map((code) => (
          <option key={code} value={code} lang={code}>
            {LANGUAGE_NAMES[code]}
          </option>
        ))}
      </select>
    </span>
  );
}
