/**
 * Messages between a process and its child over a pipe: each message is V8's structured-clone
 * serialisation (node:v8 serialize — Dates, BigInts, Uint8Arrays and lone surrogates survive, as
 * they would through a Worker's postMessage) behind a 4-byte big-endian length.
 *
 * @example
 * const out = Deno.stdout.writable.getWriter();
 * for await (const msg of readFrames(Deno.stdin.readable)) await writeFrame(out, { echo: msg });
 */
import v8 from "node:v8";

/** The largest message accepted, bytes (a larger length means the stream is not frames). */
export const MAX_FRAME_BYTES = 1 << 30;

/** One message as the bytes of its frame. */
export function encodeFrame(message: unknown): Uint8Array {
  const body = v8.serialize(message);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

/** Writes one message. */
export async function writeFrame(writer: WritableStreamDefaultWriter<Uint8Array>, message: unknown): Promise<void> {
  await writer.write(encodeFrame(message));
}

/** Writes one message to stdout at once, blocking (a few microseconds: no event-loop turn). */
export function writeFrameSync(message: unknown): void {
  const frame = encodeFrame(message);
  for (let off = 0; off < frame.length;) off += Deno.stdout.writeSync(frame.subarray(off));
}

/** The messages of a stream, in order; ends with the stream. Throws on a stream that is not frames. */
export async function* readFrames(readable: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  let buf = new Uint8Array(64 * 1024);
  let start = 0; // first unread byte
  let end = 0; // one past the last byte read
  for await (const chunk of readable) {
    if (end + chunk.length > buf.length) {
      // compact (drop what was read), growing when the unread part and the chunk do not fit
      const need = end - start + chunk.length;
      const next = need > buf.length ? new Uint8Array(Math.max(need, buf.length * 2)) : buf;
      next.set(buf.subarray(start, end)); // (set copies correctly even within one buffer)
      buf = next;
      end -= start;
      start = 0;
    }
    buf.set(chunk, end);
    end += chunk.length;
    while (end - start >= 4) {
      const len = new DataView(buf.buffer, buf.byteOffset + start, 4).getUint32(0);
      if (len > MAX_FRAME_BYTES) throw new Error(`a message of ${len} bytes is past the ${MAX_FRAME_BYTES}-byte limit`);
      if (end - start - 4 < len) break;
      // a copy: deserialised typed arrays may share the bytes they were read from, and buf is reused
      yield v8.deserialize(buf.slice(start + 4, start + 4 + len));
      start += 4 + len;
    }
    if (start === end) start = end = 0;
  }
  if (end > start) throw new Error(`the stream ended inside a message (${end - start} bytes left)`);
}
