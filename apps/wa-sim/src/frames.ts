import { NOISE_WA_HEADER } from 'baileys';

/** Every WhatsApp Web frame, both directions, is a 3-byte big-endian length and the payload. */
export const FRAME_LENGTH_BYTES = 3;
const MAX_FRAME = 0xffffff;

export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.byteLength > MAX_FRAME) {
    throw new Error(`frame of ${payload.byteLength} bytes exceeds the 3-byte length limit`);
  }
  const frame = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + payload.byteLength);
  frame.writeUIntBE(payload.byteLength, 0, FRAME_LENGTH_BYTES);
  frame.set(payload, FRAME_LENGTH_BYTES);
  return frame;
}

/**
 * Splits the client's byte stream into frames. WebSocket messages do not align with frames (the
 * client prefixes its first message with the intro header and may batch or split frames), so bytes
 * are buffered until a whole frame is present.
 */
export class FrameReader {
  private pending = Buffer.alloc(0);
  private introSeen = false;

  /** @returns the complete frames now available, oldest first */
  push(bytes: Uint8Array): Buffer[] {
    this.pending = this.pending.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.pending, bytes]);
    if (!this.introSeen) {
      if (this.pending.length < NOISE_WA_HEADER.length) return [];
      this.assertIntro();
      this.pending = this.pending.subarray(NOISE_WA_HEADER.length);
      this.introSeen = true;
    }
    const frames: Buffer[] = [];
    while (this.pending.length >= FRAME_LENGTH_BYTES) {
      const size = this.pending.readUIntBE(0, FRAME_LENGTH_BYTES);
      if (this.pending.length < FRAME_LENGTH_BYTES + size) break;
      frames.push(this.pending.subarray(FRAME_LENGTH_BYTES, FRAME_LENGTH_BYTES + size));
      this.pending = this.pending.subarray(FRAME_LENGTH_BYTES + size);
    }
    return frames;
  }

  /**
   * A client holding `creds.routingInfo` sends an `ED…` edge-routing prefix instead of the bare
   * header; the sim never hands out routing info, so anything but the bare header is a foreign client.
   */
  private assertIntro(): void {
    const intro = this.pending.subarray(0, NOISE_WA_HEADER.length);
    if (!intro.equals(NOISE_WA_HEADER)) {
      throw new Error(`expected the WA intro header ${NOISE_WA_HEADER.toString('hex')}, got ${intro.toString('hex')}`);
    }
  }
}
