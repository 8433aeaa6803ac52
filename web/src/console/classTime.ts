// A lesson's times as the class pages show them (a time range) and take them (a datetime-local input's value).

import { getLocale } from "../i18n";
import { formatTime } from "../ui/common";

/** A lesson's times in this browser's locale and zone: "3 Sept 2026, 08:00 – 09:00". */
export function timeRange(startsAt: string, endsAt: string): string {
  return `${formatTime(startsAt)} – ${new Date(endsAt).toLocaleTimeString(getLocale(), { timeStyle: "short" })}`;
}

export function localInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
