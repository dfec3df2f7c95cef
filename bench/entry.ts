/**
 * Whether this process was started on bench/<name>.ts itself. `require.main === module` is not enough: in
 * the dist/bench.js bundle every bundled module sees it true, so a standalone entry point guarded by it
 * alone starts beside `npm run bench` and races it for the tfjs backend.
 */
export function startedAs(name: string): boolean {
  return new RegExp(`(^|[\\\\/])bench[\\\\/]${name}\\.[cm]?[tj]s$`).test(process.argv[1] ?? '');
}
