/**
 * `model/deployment` as an `x-llm-deployment` header value. Model names come from clients and may
 * hold any character; a header takes only visible ASCII, so anything else is percent-encoded.
 */
export function deploymentHeaderValue(name: string): string {
  return /^[\x21-\x7e]*$/.test(name) ? name : encodeURIComponent(name);
}
