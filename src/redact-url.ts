/**
 * How a URL is shown to people and written to files (errors, progress,
 * reports, saved results): scheme, host, port, path and query keys stay, so
 * the message still says where; what may be a secret becomes `***` — the
 * password of the userinfo (or a userinfo without a password: it is often a
 * token, as in `https://TOKEN@host`), every query value, and the fragment.
 *
 *   http://alice:S3cretPw@host:8080/api?token=abc&page=2  →  http://alice:***@host:8080/api?token=***&page=***
 *   https://ghp_abc@host/?flag                             →  https://***@host/?***
 *
 * It works on the text as written rather than on a parsed URL, so that the
 * error saying "this is not a valid URL" can show it too, and a URL with
 * nothing to hide comes back unchanged (not normalised).
 */

export const REDACTED = '***';

export function redactUrl(text: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text)?.[0] ?? '';
  const rest = text.slice(scheme.length);
  // The userinfo ends at the last @ of the authority, which ends at the first / ? or #. A text that
  // does not parse may hold a password with an unencoded / ? or #: then the last @ anywhere counts.
  // One that parses may too: `user:12/s3cr3t@host` reads as host `user`, port 12, so an @ later in
  // the path ends the userinfo when what comes before it has a colon (a password, or a port: then
  // it hides too much, never too little).
  const authorityEnd = URL.canParse(text) ? firstOf(rest, '/?#') : rest.length;
  let at = authorityEnd > 0 ? rest.lastIndexOf('@', authorityEnd - 1) : -1;
  const queryStart = firstOf(rest, '?#');
  const later = queryStart > 0 ? rest.lastIndexOf('@', queryStart - 1) : -1;
  if (later > at && rest.slice(0, later).includes(':')) at = later;
  const userinfo = at >= 0 ? `${redactUserinfo(rest.slice(0, at))}@` : '';
  const tail = rest.slice(at + 1);

  const hash = tail.indexOf('#');
  const beforeHash = hash >= 0 ? tail.slice(0, hash) : tail;
  const question = beforeHash.indexOf('?');
  const path = question >= 0 ? beforeHash.slice(0, question) : beforeHash;
  const query = question >= 0 ? `?${beforeHash.slice(question + 1).split('&').map(redactQueryPart).join('&')}` : '';
  const fragment = hash >= 0 ? `#${tail.length > hash + 1 ? REDACTED : ''}` : '';
  return `${scheme}${userinfo}${path}${query}${fragment}`;
}

function redactUserinfo(userinfo: string): string {
  if (!userinfo) return '';
  const colon = userinfo.indexOf(':');
  if (colon < 0) return REDACTED;
  return `${userinfo.slice(0, colon)}:${colon < userinfo.length - 1 ? REDACTED : ''}`;
}

/** `key=value` keeps its key; a part without `=` may itself be a token. */
function redactQueryPart(part: string): string {
  const equals = part.indexOf('=');
  if (equals < 0) return part ? REDACTED : '';
  return `${part.slice(0, equals)}=${equals < part.length - 1 ? REDACTED : ''}`;
}

function firstOf(text: string, characters: string): number {
  for (let i = 0; i < text.length; i++) if (characters.includes(text[i]!)) return i;
  return text.length;
}
