// Real documents of each format, made by the tests at run time (nothing downloaded, no binary committed).
import { randomBytes } from "node:crypto";
import JSZip from "jszip";
import PDFDocument from "pdfkit";

export type PdfOptions = {
  title?: string;
  userPassword?: string;
  /** Bytes of random data in an object of their own: a valid PDF of about this size more. */
  paddingBytes?: number;
};

/** A PDF with one page per entry of `pages`, each holding that text (pdfkit, standard fonts). */
export function makePdf(pages: readonly string[], options: PdfOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const document = new PDFDocument({
      autoFirstPage: false,
      ...(options.title ? { info: { Title: options.title } } : {}),
      ...(options.userPassword ? { userPassword: options.userPassword, ownerPassword: "owner" } : {}),
      // Random padding does not compress; deflating it would only take time.
      ...(options.paddingBytes ? { compress: false } : {}),
    });
    const chunks: Buffer[] = [];
    document.on("data", (chunk: Buffer) => chunks.push(chunk));
    document.on("end", () => resolve(Buffer.concat(chunks)));
    document.on("error", reject);
    for (const text of pages) {
      document.addPage();
      document.text(text);
    }
    if (options.paddingBytes) {
      const padding = document.ref({});
      padding.write(randomBytes(options.paddingBytes));
      padding.end("");
    }
    document.end();
  });
}

/** A PDF like a scan: a page with only a drawing on it, no text layer. */
export function makeScannedPdf(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const document = new PDFDocument();
    const chunks: Buffer[] = [];
    document.on("data", (chunk: Buffer) => chunks.push(chunk));
    document.on("end", () => resolve(Buffer.concat(chunks)));
    document.on("error", reject);
    document.rect(50, 50, 400, 600).fill("#444");
    document.end();
  });
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

const CONTENT_TYPES = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
  <Default Extension="xml" ContentType="application/xml"/>
  <Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>`;

const ROOT_RELATIONSHIPS = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>`;

/** The parts of a minimal Word document: one `w:p` paragraph per entry. */
function docxParts(paragraphs: readonly string[]): Record<string, string> {
  const body = paragraphs
    .map((text) => `<w:p><w:r><w:t xml:space="preserve">${escapeXml(text)}</w:t></w:r></w:p>`)
    .join("");
  return {
    "[Content_Types].xml": CONTENT_TYPES,
    "_rels/.rels": ROOT_RELATIONSHIPS,
    "word/document.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`,
  };
}

/** A DOCX (Office Open XML, as Word writes it, less the optional parts) with these paragraphs. */
export async function makeDocx(paragraphs: readonly string[]): Promise<Buffer> {
  const zip = new JSZip();
  for (const [name, content] of Object.entries(docxParts(paragraphs))) zip.file(name, content);
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE" });
}

/** A DOCX that is a zip bomb: beside a real document, a part of `bytes` zeros packed about 1000 times. */
export async function makeZipBombDocx(bytes = 16 * 1_048_576): Promise<Buffer> {
  const zip = new JSZip();
  for (const [name, content] of Object.entries(docxParts(["A harmless looking paragraph."]))) {
    zip.file(name, content);
  }
  zip.file("word/media/padding.bin", Buffer.alloc(bytes));
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE", compressionOptions: { level: 9 } });
}

/** An article page inside the usual chrome: navigation, a sidebar, a footer, a script. */
export function makeArticleHtml(options: { title: string; paragraphs: readonly string[] }): string {
  const article = options.paragraphs.map((text) => `<p>${escapeXml(text)}</p>`).join("\n");
  return `<!doctype html>
<html><head><title>${escapeXml(options.title)}</title><script>var tracking = "pixel";</script>
<style>body { font-family: sans-serif }</style></head>
<body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/products">Products</a></li><li><a href="/careers">Careers</a></li></ul></nav></header>
<aside class="sidebar"><h3>Related</h3><ul><li><a href="/a">Subscribe to our newsletter</a></li></ul></aside>
<main><article><h1>${escapeXml(options.title)}</h1>
${article}
</article></main>
<footer><p>Copyright 2026 Example Corp. All rights reserved. Privacy policy. Cookie settings.</p></footer>
</body></html>`;
}

/**
 * A DOCX whose document part lies: its directory says it unpacks to 1,000 bytes, and it unpacks to
 * `bytes` (a valid document padded with spaces), so only unpacking it shows the bomb.
 */
export async function makeLyingZipBombDocx(bytes = 16 * 1_048_576): Promise<Buffer> {
  const parts = docxParts(["A paragraph before a great deal of nothing."]);
  parts["word/document.xml"] = parts["word/document.xml"].replace("<w:body>", `<w:body>${" ".repeat(bytes)}`);
  const zip = new JSZip();
  for (const [name, content] of Object.entries(parts)) zip.file(name, content);
  const archive = await zip.generateAsync({
    type: "nodebuffer",
    compression: "DEFLATE",
    compressionOptions: { level: 9 },
  });
  // Rewrite the declared size in the central directory's entry for the document part.
  const name = Buffer.from("word/document.xml");
  for (let offset = archive.length - 22; offset >= 0; offset -= 1) {
    if (
      archive.readUInt32LE(offset) === 0x02014b50 &&
      archive.subarray(offset + 46, offset + 46 + name.length).equals(name)
    ) {
      archive.writeUInt32LE(1000, offset + 24);
      break;
    }
  }
  return archive;
}
