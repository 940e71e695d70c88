// Time axis labels that never run into each other (uPlot's default "12/4/26 4:48pm" runs into
// its neighbour on a narrow chart): "16:48", with seconds when ticks are under a minute apart,
// and the date only where the day changes. Ticks are at least TIME_SPACE pixels apart, wider
// than the longest label ("Dec 14 16:48:30" is the exception, once per day change).
import type uPlot from 'uplot';

export const TIME_SPACE = 70;

const pad = (n: number): string => String(n).padStart(2, '0');

export function timeLabels(splits: readonly number[], incr: number): string[] {
  let day = '';
  return splits.map((s) => {
    const d = new Date(s * 1000);
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}${incr < 60 ? `:${pad(d.getSeconds())}` : ''}`;
    const today = `${d.toLocaleString('en-US', { month: 'short' })} ${d.getDate()}`;
    const label = incr >= 86400 || (day && today !== day) ? `${today} ${hm}` : hm;
    day = today;
    return label;
  });
}

/** uPlot's axis `values` callback */
export const timeTicks = (_u: uPlot, splits: number[], _axis: number, _space: number, incr: number): string[] => timeLabels(splits, incr);
