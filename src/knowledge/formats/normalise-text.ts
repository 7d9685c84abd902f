/** Line ends made `\n`, trailing spaces and runs of blank lines removed: paragraphs stay, noise goes. */
export function normaliseText(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
