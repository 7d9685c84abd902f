import assert from "node:assert/strict";
import { test } from "node:test";
import { type ExtractChunksOptions, extractChunks } from "../../src/knowledge/extract-chunks.ts";
import { SourceError } from "../../src/knowledge/source-error.ts";
import {
  makeArticleHtml,
  makeDocx,
  makeLyingZipBombDocx,
  makePdf,
  makeScannedPdf,
  makeZipBombDocx,
} from "../support/document-fixtures.ts";

const options: ExtractChunksOptions = {
  size: 400,
  overlap: 40,
  maxPages: 20,
  maxUnpackedBytes: 20 * 1_048_576,
  timeoutMs: 30_000,
};

/** Extraction as the ingest job runs it: in the extraction threads, with the job's limits. */
function extract(
  body: Buffer | string,
  name: string,
  contentType = "",
  overrides: Partial<ExtractChunksOptions> = {},
) {
  return extractChunks(Buffer.from(body), { name, contentType }, { ...options, ...overrides });
}

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof SourceError, `a SourceError, not ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

test("a multi-page PDF is read page by page: every chunk names its page, and the title is kept", async () => {
  const pdf = await makePdf(
    [
      "Chapter one. The lighthouse keeper climbed the stairs at dusk.",
      "Chapter two. Fog rolled over the harbour and the horn sounded.",
      "Chapter three. At dawn the fishing boats came home safely.",
    ],
    { title: "The Keeper" },
  );
  const extracted = await extract(pdf, "upload.bin", "application/octet-stream");
  assert.equal(extracted.type, "pdf");
  assert.equal(extracted.contentType, "application/pdf");
  assert.equal(extracted.title, "The Keeper");
  assert.deepEqual(
    extracted.chunks.map((chunk) => chunk.page),
    [1, 2, 3],
  );
  assert.match(extracted.chunks[0].text, /lighthouse keeper climbed/);
  assert.match(extracted.chunks[1].text, /Fog rolled over the harbour/);
  assert.match(extracted.chunks[2].text, /fishing boats came home/);
  assert.doesNotMatch(extracted.chunks[0].text, /Fog/);
});

test("an encrypted PDF, a scanned PDF, a corrupt PDF and one over the page limit each fail with their code", async () => {
  const encrypted = await makePdf(["Top secret plans."], { userPassword: "hunter2" });
  await rejectsWith(extract(encrypted, "secret.pdf"), "SOURCE_ENCRYPTED", /password/);
  await rejectsWith(extract(await makeScannedPdf(), "scan.pdf"), "SOURCE_NO_TEXT", /no text layer.*no OCR/);
  const whole = await makePdf(["Some text."]);
  await rejectsWith(extract(whole.subarray(0, 400), "cut.pdf"), "SOURCE_UNREADABLE", /damaged/);
  await rejectsWith(extract("not a pdf at all", "fake.pdf"), "SOURCE_UNREADABLE", /declared a PDF/);
  const long = await makePdf(["one", "two", "three"]);
  await rejectsWith(
    extract(long, "long.pdf", "", { maxPages: 2 }),
    "SOURCE_TOO_LARGE",
    /3 pages, more than the 2/,
  );
});

test("a DOCX keeps its paragraphs; a corrupt one and a zip bomb fail with their code, the worker unharmed", async () => {
  const docx = await makeDocx([
    "Otters hold hands while they sleep.",
    "Beavers build dams of mud and sticks.",
  ]);
  const extracted = await extract(docx, "animals.docx");
  assert.equal(extracted.type, "docx");
  assert.equal(
    extracted.contentType,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  );
  assert.equal(extracted.chunks.length, 1);
  assert.equal(
    extracted.chunks[0].text,
    "Otters hold hands while they sleep.\n\nBeavers build dams of mud and sticks.",
  );
  assert.equal(extracted.chunks[0].page, undefined);

  await rejectsWith(
    extract(docx.subarray(0, docx.length - 30), "cut.docx"),
    "SOURCE_UNREADABLE",
    /corrupt|damaged/,
  );
  await rejectsWith(extract("plain words", "fake.docx"), "SOURCE_UNREADABLE", /declared a DOCX/);
  await rejectsWith(extract(await makeZipBombDocx(), "bomb.docx"), "SOURCE_TOO_LARGE", /zip bomb/);
  await rejectsWith(
    extract(await makeLyingZipBombDocx(), "liar.docx"),
    "SOURCE_TOO_LARGE",
    /does not unpack to the 1000 bytes it declares/,
  );
  const large = await makeDocx(["x".repeat(20_000)]);
  await rejectsWith(
    extract(large, "big.docx", "", { maxUnpackedBytes: 10_000 }),
    "SOURCE_TOO_LARGE",
    /unpacks to/,
  );
  // The threads that refused those still extract.
  assert.equal((await extract(docx, "again.docx")).chunks.length, 1);
});

test("an HTML page keeps its main content and title, without navigation, sidebar, footer or scripts", async () => {
  const html = makeArticleHtml({
    title: "Tides and the moon",
    paragraphs: [
      "The tide rises twice a day because the moon pulls the oceans toward it, and the earth turns beneath that bulge of water.",
      "Spring tides come when sun and moon line up; neap tides when they stand at right angles, so one pull partly cancels the other.",
    ],
  });
  const extracted = await extract(html, "https://example.com/tides", "text/html; charset=utf-8");
  assert.equal(extracted.type, "html");
  assert.equal(extracted.title, "Tides and the moon");
  const text = extracted.chunks.map((chunk) => chunk.text).join("\n\n");
  assert.match(text, /The tide rises twice a day/);
  assert.match(text, /Spring tides come/);
  for (const chrome of ["Careers", "newsletter", "Copyright", "tracking", "font-family"]) {
    assert.doesNotMatch(text, new RegExp(chrome), `${chrome} is left out`);
  }
  // A page too short to be an article keeps its body without the chrome.
  const short = await extract(
    "<html><head><title>t</title></head><body><nav>Menu</nav><p>Tea &amp; cake</p><footer>Legal</footer></body></html>",
    "short.html",
  );
  assert.deepEqual(
    short.chunks.map((chunk) => chunk.text),
    ["Tea & cake"],
  );
});

test("a CSV becomes one line per row with its headers; a corrupt one fails", async () => {
  const csv = 'name,role,city\nAda,"engineer, lead",London\n\nGrace,admiral,"New\nYork"\r\nLinus,,Helsinki\n';
  const extracted = await extract(csv, "people.csv");
  assert.equal(extracted.type, "csv");
  assert.equal(
    extracted.chunks.map((chunk) => chunk.text).join("\n\n"),
    "name: Ada; role: engineer, lead; city: London\n\nname: Grace; role: admiral; city: New York\n\nname: Linus; city: Helsinki",
  );
  await rejectsWith(
    extract('name,role\nAda,"never closed\n', "broken.csv"),
    "SOURCE_UNREADABLE",
    /never ends/,
  );
});

test("Markdown, text and JSON are read as before; JSON is found by its content, a binary file is refused", async () => {
  const markdown = await extract("# Moths\n\nMoths fly at night.\n\n\n\nThey like lamps.", "notes.md");
  assert.equal(markdown.type, "markdown");
  assert.equal(markdown.chunks[0].text, "# Moths\n\nMoths fly at night.\n\nThey like lamps.");
  const json = await extract(JSON.stringify({ title: "Moths", tags: ["night", "wings"], count: 3 }), "data");
  assert.equal(json.type, "json");
  assert.equal(json.chunks[0].text, "title: Moths\n\ntags: night\n\ntags: wings\n\ncount: 3");
  await rejectsWith(extract("{ not json", "broken.json"), "SOURCE_UNREADABLE", /not valid JSON/);
  assert.equal((await extract("plain words", "notes")).type, "text");
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  await rejectsWith(extract(png, "image.html", "text/html"), "SOURCE_UNSUPPORTED_TYPE", /binary/);
});

test("a NUL byte anywhere in a text refuses it as binary; a NUL character inside extracted text is taken out", async () => {
  // Past the first 8 KiB, where the count of control characters does not look.
  const late = `${"Lighthouse keepers trim the wicks. ".repeat(300)}before\u0000after`;
  assert.ok(Buffer.byteLength(late) > 8192);
  await rejectsWith(extract(late, "notes.txt"), "SOURCE_UNSUPPORTED_TYPE", /binary/);
  // A JSON string may hold \u0000 as an escape, and the bytes no NUL: the value is kept without it.
  const json = await extract(JSON.stringify({ title: "Lamp\u0000room", note: "wick\u0000s" }), "data.json");
  assert.equal(json.chunks[0].text, "title: Lamproom\n\nnote: wicks");
});

test("an extraction past its time limit fails with SOURCE_EXTRACTION_TIMEOUT, and the next one runs", async () => {
  const pdf = await makePdf(Array.from({ length: 20 }, (_, index) => `Page ${index} text.`));
  await rejectsWith(
    extract(pdf, "slow.pdf", "", { timeoutMs: 1 }),
    "SOURCE_EXTRACTION_TIMEOUT",
    /longer than 1 ms/,
  );
  assert.equal((await extract(pdf, "fast.pdf")).chunks.length, 20);
});
