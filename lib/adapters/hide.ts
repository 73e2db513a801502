/**
 * Hides what a client hands back of Node's HTTP machinery from logs. A ClientRequest holds
 * the headers it sent (`_header`), Authorization included, and a keep-alive socket or agent
 * leads to the request it serves now, which may be another call's: a log of one error could
 * print another request's token. Made non-enumerable, these fields stay readable, and
 * `util.inspect` and `JSON.stringify` pass them by, as they pass by got's own `request`.
 */
export function hideFields(holder: object | null | undefined, names: readonly string[]): void {
  if (holder === null || holder === undefined) return;
  for (const name of names) {
    const descriptor = Object.getOwnPropertyDescriptor(holder, name);
    if (descriptor?.enumerable === true && descriptor.configurable === true) Object.defineProperty(holder, name, { ...descriptor, enumerable: false });
  }
}
