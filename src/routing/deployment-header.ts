/**
 * `model/deployment` as an `x-llm-deployment` header value. Model names come from clients and may
 * hold any character; a header takes only visible ASCII, so anything else is percent-encoded (an
 * unpaired surrogate, which has no UTF-8 form, as U+FFFD: the header only shows the name).
 */
export function deploymentHeaderValue(name: string): string {
  return /^[\x21-\x7e]*$/.test(name) ? name : encodeURIComponent(name.toWellFormed());
}
