// Calendar weeks (Monday to Sunday) covering a date range, for per-week attendance rates.

export interface Week {
  from: string;
  to: string;
}

const iso = (d: Date) => d.toISOString().slice(0, 10);

export function weeksBetween(from: string, to: string, max = 12): Week[] {
  const start = new Date(`${from}T00:00:00Z`);
  const end = new Date(`${to}T00:00:00Z`);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) return [];
  const monday = new Date(start);
  monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
  const weeks: Week[] = [];
  for (let d = monday; d <= end; d = new Date(d.getTime() + 7 * 86_400_000)) {
    const sunday = new Date(d.getTime() + 6 * 86_400_000);
    weeks.push({ from: iso(d < start ? start : d), to: iso(sunday > end ? end : sunday) });
  }
  return weeks.slice(-max);
}

export function daysAgo(days: number, today = new Date()): string {
  return iso(new Date(today.getTime() - days * 86_400_000));
}
