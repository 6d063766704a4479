/**
 * Command-line walking shared by the evaluation commands (eval-depth, eval-views): one positional
 * `<data-dir>`, `--help`/`-h`, and `--flag [value]` options handled by the caller.
 */

/**
 * Walks `argv`: each `--flag` goes to `option(flag, value)`, where `value()` consumes the next argument
 * (`usage` is called when there is none); `option` returns false for a flag it does not know. The single
 * positional argument is returned as the data folder; `usage` (which must not return) reports a missing
 * or extra positional argument, an unknown option and `--help`.
 */
export function parseDataDirArgs(argv: string[], usage: (msg?: string) => never, option: (flag: string, value: () => string) => boolean): string {
  let dataDir = '';
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${t} needs a value`);
      return v;
    };
    if (t === '--help' || t === '-h') usage();
    else if (t.startsWith('--')) {
      if (!option(t, value)) usage(`unknown option ${t}`);
    } else if (!dataDir) dataDir = t;
    else usage(`unexpected argument ${t}`);
  }
  if (!dataDir) usage('missing <data-dir>');
  return dataDir;
}

/** A comma-separated list (`--scenes a,b`): trimmed, empty entries dropped. */
export function splitList(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}
