/**
 * How long the renewer may go between two scheduled runs, read from an EventBridge schedule
 * expression: the missed-run alarm waits two of these before it fires.
 */
import { Duration, Token } from 'aws-cdk-lib';

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/;

function expandHours(field: string): number[] | undefined {
  const hours = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|\d{1,2})(?:-(\d{1,2}))?(?:\/(\d{1,2}))?$/.exec(part);
    if (!m) return undefined;
    const start = m[1] === '*' ? 0 : Number(m[1]);
    const end = m[2] !== undefined ? Number(m[2]) : m[1] === '*' || m[3] !== undefined ? 23 : start;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    if (start > 23 || end > 23 || step < 1) return undefined;
    for (let h = start; h <= end; h += step) hours.add(h);
  }
  return [...hours].sort((a, b) => a - b);
}

/**
 * The longest gap between two runs of `expression`, or undefined when it cannot be read
 * (a token, or a cron expression restricted to some days, weeks or months).
 */
export function scheduleInterval(expression: string): Duration | undefined {
  if (Token.isUnresolved(expression)) return undefined;
  const rate = RATE.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2] ?? '';
    if (unit.startsWith('minute')) return Duration.minutes(n);
    return unit.startsWith('hour') ? Duration.hours(n) : Duration.days(n);
  }
  const cron = CRON.exec(expression);
  if (!cron) return undefined;
  const [, , hourField = '', dayOfMonth, month, dayOfWeek] = cron;
  const everyDay = (f: string | undefined) => f === '*' || f === '?';
  if (!everyDay(dayOfMonth) || month !== '*' || !everyDay(dayOfWeek)) return undefined;
  const hours = expandHours(hourField);
  if (hours === undefined || hours.length === 0) return undefined;
  let gap = 0;
  hours.forEach((hour, i) => {
    const next = hours[(i + 1) % hours.length] ?? hour;
    gap = Math.max(gap, (next - hour + 24) % 24 || 24);
  });
  return Duration.hours(gap);
}
