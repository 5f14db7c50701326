// An AudioWorklet in a 16 kHz AudioContext: the microphone as 16-bit PCM, posted in 100 ms pieces.

const PIECE = 1600;

class Pcm16Writer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.piece = new Int16Array(PIECE);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0]?.[0];
    if (channel) {
      for (let i = 0; i < channel.length; i++) {
        const sample = Math.max(-1, Math.min(1, channel[i]));
        this.piece[this.filled++] = sample < 0 ? sample * 0x8000 : sample * 0x7fff;
        if (this.filled === PIECE) {
          this.port.postMessage(this.piece.buffer, [this.piece.buffer]);
          this.piece = new Int16Array(PIECE);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("pcm16-writer", Pcm16Writer);
