/** The path of a request URL, without its query string: what the hooks match routes and probes by. */
export function urlPath(url: string): string {
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}
