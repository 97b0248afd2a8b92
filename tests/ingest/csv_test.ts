/**
 * src/ingest/csv.ts: RFC 4180 records (quotes, doubled quotes, embedded delimiters and line
 * breaks, CRLF/LF/CR), BOM, delimiter detection, line numbers, and the unterminated-quote error.
 */
import assert from "node:assert/strict";
import { detectDelimiter, parseCsv, readCsv } from "../../src/ingest/csv.ts";

Deno.test("csv: quoted fields with delimiters, doubled quotes and line breaks; CRLF; BOM", () => {
  const text = '\uFEFFa,b,c\r\n1,"x, y","say ""hi"""\r\n2,"two\r\nlines\nthree",\r\n';
  assert.deepEqual(parseCsv(text), [
    ["a", "b", "c"],
    ["1", "x, y", 'say "hi"'],
    ["2", "two\r\nlines\nthree", ""],
  ]);
});

Deno.test("csv: line numbers are where each record starts, across embedded newlines and blank lines", () => {
  const text = 'k;v\nA;"1\n2\n3"\n\nB;4\rC;"5\r\n6"\nD;7';
  const recs = [...readCsv(text, { delimiter: ";" })];
  assert.deepEqual(recs.map((r) => [r.line, r.fields]), [
    [1, ["k", "v"]],
    [2, ["A", "1\n2\n3"]],
    [6, ["B", "4"]],
    [7, ["C", "5\r\n6"]],
    [9, ["D", "7"]],
  ]);
  // blank lines kept when asked
  assert.deepEqual(parseCsv("a\n\nb\n", { skipEmptyLines: false }), [["a"], [""], ["b"]]);
});

Deno.test("csv: delimiter detection ignores delimiters inside quotes; tab and pipe work", () => {
  assert.equal(detectDelimiter('Key;Priority;"A,B,C,D";Status\nx'), ";");
  assert.equal(detectDelimiter('"a;b;c;d",e,f\n'), ",");
  assert.equal(detectDelimiter("a\tb\tc\n"), "\t");
  assert.equal(detectDelimiter("single\n"), ",");
  assert.deepEqual(parseCsv("a;b\n1;2\n", { delimiter: "auto" }), [["a", "b"], ["1", "2"]]);
  assert.deepEqual(parseCsv("a|b\n1|2", { delimiter: "|" }), [["a", "b"], ["1", "2"]]);
});

Deno.test("csv: lenient with stray quotes; an unterminated quote is reported on its record", () => {
  assert.deepEqual(parseCsv('5" disk,"a"b,c\n'), [['5" disk', "ab", "c"]]);
  const recs = [...readCsv('a,b\n1,"never closed\n2,3\n')];
  assert.equal(recs.length, 2);
  assert.equal(recs[1].line, 2);
  assert.equal(recs[1].error, "quoted field opened on line 2 is never closed");
  assert.deepEqual(recs[1].fields, ["1", "never closed\n2,3\n"]);
});

Deno.test("csv: trailing delimiter, empty input, no final newline, bad delimiter option", () => {
  assert.deepEqual(parseCsv("a,b,"), [["a", "b", ""]]);
  assert.deepEqual(parseCsv(",\n"), [["", ""]]);
  assert.deepEqual(parseCsv(""), []);
  assert.deepEqual(parseCsv("\uFEFF"), []);
  assert.throws(() => parseCsv("a", { delimiter: '"' }), /delimiter "\\"" is not allowed/);
  assert.throws(() => parseCsv("a", { delimiter: ";;" }), /use one character/);
});

Deno.test("csv: agrees with Python's csv module on the Apache Kafka export", async () => {
  const text = await Deno.readTextFile(new URL("../../../shared/data/jira-apache/kafka-jira-bug-fix-dataset.csv", import.meta.url));
  const rows = parseCsv(text, { delimiter: ";" });
  // python3: len(list(csv.reader(f, delimiter=';'))) == 2403, every row 30 fields, 75 with a newline in a field
  assert.equal(rows.length, 2403);
  assert.ok(rows.every((r) => r.length === 30));
  assert.equal(rows.filter((r) => r.some((f) => f.includes("\n"))).length, 75);
});
