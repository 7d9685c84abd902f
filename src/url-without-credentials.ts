/**
 * A URL safe to show or log: user, password, query and fragment removed, since collectors and
 * proxies are often configured with credentials in any of them.
 */
export function urlWithoutCredentials(url: string): string {
  if (!URL.canParse(url)) return "[invalid url]";
  const parsed = new URL(url);
  parsed.username = "";
  parsed.password = "";
  parsed.search = "";
  parsed.hash = "";
  return parsed.toString();
}
