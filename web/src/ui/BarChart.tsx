// Bars drawn in SVG (no chart library): attendance rates 0..100 %, labelled, with a table for screen readers.

import { t } from "../i18n";

export interface Bar {
  label: string;
  /** 0..1, or null when nothing was counted. */
  value: number | null;
  note?: string;
}

export function BarChart({ title, bars }: { title: string; bars: Bar[] }) {
  const width = 560;
  const rowHeight = 28;
  const labelWidth = 140;
  const height = Math.max(bars.length, 1) * rowHeight + 8;
  const scale = width - labelWidth - 56;
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title} width="100%">
        {bars.map((bar, i) => {
          const y = 4 + i * rowHeight;
          const w = bar.value === null ? 0 : Math.max(bar.value * scale, 1);
          return (
            <g key={bar.label + i}>
              <text x={labelWidth - 8} y={y + 18} textAnchor="end" className="chart-label">
                {bar.label}
              </text>
              <rect x={labelWidth} y={y + 4} width={scale} height={rowHeight - 10} className="chart-track" />
              <rect x={labelWidth} y={y + 4} width={w} height={rowHeight - 10} className="chart-bar" />
              <text x={labelWidth + scale + 6} y={y + 18} className="chart-value">
                {bar.value === null ? "–" : `${Math.round(bar.value * 100)}%`}
              </text>
            </g>
          );
        })}
      </svg>
      <table className="visually-hidden">
        <caption>{title}</caption>
        <tbody>
          {bars.map((bar, i) => (
            <tr key={bar.label + i}>
              <th scope="row">{bar.label}</th>
              <td>{bar.value === null ? t("chart.nothing_counted") : `${Math.round(bar.value * 100)}%`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
