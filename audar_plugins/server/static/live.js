// Live mode: the microphone, as 16 kHz PCM16, streamed to /v1/realtime with OpenAI's client events.
// A dropped connection is resumed with the session's resume token; audio captured meanwhile is kept.

import { ApiError } from "./api.js";

const RATE = 16000;
const RESUME_ATTEMPTS = 5;

function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export class LiveSession {
  constructor(gateway, { onEvent, onStatus, onClock, onEnded, onError }) {
    Object.assign(this, { gateway, onEvent, onStatus, onClock, onEnded, onError });
    this.pending = [];
    this.seconds = 0;
    this.resumeToken = null;
    this.socket = null;
    this.state = "idle"; // idle, running, ending, ended
    this.attempts = 0;
  }

  async start() {
    await this.gateway.checkKey();
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new ApiError("this browser gives no microphone to this page (it needs https or localhost)");
    }
    this.media = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    this.context = new AudioContext({ sampleRate: RATE });
    await this.context.audioWorklet.addModule("static/pcm-worklet.js");
    const source = this.context.createMediaStreamSource(this.media);
    const writer = new AudioWorkletNode(this.context, "pcm16-writer");
    const silent = new GainNode(this.context, { gain: 0 }); // keeps the graph pulled, plays nothing
    writer.port.onmessage = (event) => this.capture(event.data);
    source.connect(writer).connect(silent).connect(this.context.destination);
    this.state = "running";
    this.connect();
  }

  connect() {
    const socket = new WebSocket(this.gateway.realtimeUrl(this.resumeToken), this.gateway.realtimeProtocols());
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      if (!this.resumeToken) {
        socket.send(JSON.stringify({
          type: "session.update",
          session: { type: "transcription", audio: { input: { format: { type: "audio/pcm", rate: RATE } } } },
        }));
      }
      this.onStatus(this.resumeToken ? "Reconnected: listening." : "Listening…");
      this.flush();
      if (this.state === "ending") this.end();
    };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "session.created" || event.type === "session.updated") {
        this.resumeToken = event.session?.resume_token ?? this.resumeToken;
      } else if (event.type === "audar.stream.ended") {
        this.state = "ended";
      } else if (event.type === "error") {
        this.onError(event.error?.message ?? "the server reported an error");
      }
      this.onEvent(event);
    };
    socket.onclose = (close) => {
      if (socket !== this.socket) return;
      if (this.state === "ended" || close.code === 1000) {
        this.finish();
      } else if ((this.state === "running" || this.state === "ending") && this.resumeToken
                 && this.attempts < RESUME_ATTEMPTS) {
        this.attempts += 1;
        this.onStatus(`Connection lost; resuming (attempt ${this.attempts})…`);
        setTimeout(() => this.connect(), 500 * this.attempts);
      } else {
        this.onError(`the connection closed (code ${close.code}${close.reason ? `: ${close.reason}` : ""})`);
        this.finish();
      }
    };
  }

  capture(buffer) {
    if (this.state !== "running") return;
    this.seconds += buffer.byteLength / 2 / RATE;
    this.onClock(this.seconds);
    this.pending.push(buffer);
    this.flush();
  }

  flush() {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    while (this.pending.length) {
      this.socket.send(JSON.stringify({ type: "input_audio_buffer.append", audio: base64(this.pending.shift()) }));
    }
  }

  async stop() {
    if (this.state !== "running") return;
    this.state = "ending";
    this.media?.getTracks().forEach((track) => track.stop());
    await this.context?.close();
    this.onStatus("Finishing the last words…");
    this.end();
  }

  end() {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.flush();
      this.socket.send(JSON.stringify({ type: "audar.stream.end" }));
    }
  }

  finish() {
    if (this.state === "idle") return;
    this.state = "idle";
    this.media?.getTracks().forEach((track) => track.stop());
    if (this.context && this.context.state !== "closed") this.context.close();
    this.onEnded();
  }
}
