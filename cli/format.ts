/**
 * Terminal output of the CLI: plain aligned tables, dates, and colours and a progress line that
 * appear only on a terminal. Piped output (or `NO_COLOR`, https://no-color.org) is plain text, so
 * scripts can read it.
 */
/** A colour or text style. */
export type Style = 'red' | 'green' | 'yellow' | 'cyan' | 'dim' | 'bold';

/**
 * SGR codes (open, close) of each style. Written out rather than `node:util` `styleText`, which
 * in newer Node versions decides from `process.stdout` whether to colour, not from the stream
 * the CLI writes to (stderr has its own answer).
 */
const SGR: Record<Style, [number, number]> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
};

/** The part of a stream the CLI looks at. */
export interface Out {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Whether `stream` gets colours: a terminal, `NO_COLOR` unset (any value turns colour off). */
export function useColour(stream: Out, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

/** Applies styles to text when `colour` is on; returns the text unchanged otherwise. */
export type Paint = (style: Style | undefined, text: string) => string;

/** A {@link Paint} for a stream. */
export function painter(colour: boolean): Paint {
  return (style, text) => {
    if (!colour || !style || text === '') return text;
    const [open, close] = SGR[style];
    return `\x1b[${open}m${text}\x1b[${close}m`;
  };
}

/** One cell: its text and, optionally, how to colour it on a terminal. */
export type Cell = string | { text: string; style?: Style };

function cellText(cell: Cell): string {
  return typeof cell === 'string' ? cell : cell.text;
}

/**
 * Renders rows under headers, columns separated by two spaces and padded to the widest cell
 * (widths measured on the plain text, so colours never break the alignment). The last column is
 * not padded: no trailing spaces.
 */
export function table(headers: string[], rows: Cell[][], paint: Paint = painter(false)): string {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => [...cellText(r[i] ?? '')].length)),
  );
  const line = (cells: Cell[], header: boolean) =>
    cells
      .map((cell, i) => {
        const text = cellText(cell);
        const padded =
          i === cells.length - 1 ? text : text + ' '.repeat((widths[i] ?? 0) - [...text].length);
        const style = header ? 'bold' : typeof cell === 'string' ? undefined : cell.style;
        return paint(style, padded);
      })
      .join('  ')
      .trimEnd();
  return [line(headers, true), ...rows.map((r) => line(r, false))].join('\n');
}

/** `2026-12-03 14:38Z` (UTC, minutes): short and unambiguous in a table. */
export function shortTime(iso: string | undefined): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

/** The first 16 hex digits of a serial and an ellipsis: enough to tell certificates apart. */
export function shortSerial(serial: string | undefined): string {
  if (!serial) return '';
  return serial.length > 16 ? `${serial.slice(0, 16)}…` : serial;
}

/** `app/web/0123/4567` from a listener ARN (the resource part after `listener/`). */
export function shortListener(arn: string): string {
  const at = arn.indexOf(':listener/');
  return at >= 0 ? arn.slice(at + ':listener/'.length) : arn;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A one-line spinner with a message on stderr, only when stderr is a terminal; elsewhere every
 * call does nothing, so piped and logged output stays clean.
 */
export class Progress {
  private timer?: NodeJS.Timeout;
  private frame = 0;
  private text = '';

  constructor(
    private readonly stream: Out = process.stderr,
    private readonly enabled: boolean = stream.isTTY === true,
  ) {}

  /** Shows (or replaces) the message. */
  update(text: string): void {
    if (!this.enabled) return;
    this.text = text;
    this.draw();
    if (!this.timer) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
  }

  /** Clears the line. */
  stop(): void {
    if (!this.enabled) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write('\r\x1b[K');
  }

  private draw(): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    this.stream.write(`\r\x1b[K${FRAMES[this.frame]} ${this.text}`);
  }
}
