// Live mode: the microphone, as 16 kHz PCM16, streamed to /v1/realtime with OpenAI's client events.
// A dropped connection is resumed with the session's resume token; audio captured meanwhile is kept
// and sent at a few times real time, within the server's backlog.

import { ApiError } from "./api.js";

const RATE = 16000;
const RESUME_ATTEMPTS = 5;
const PIECES_PER_TICK = 4; // 100 ms pieces sent per 100 ms when catching up: 4x real time

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
    this.key = gateway.key; // the key of this session, whatever the field says later
    this.pending = [];
    this.seconds = 0;
    this.resumeToken = null;
    this.lastEventId = null;
    this.socket = null;
    this.state = "new"; // new, running, ending, ended, done
    this.attempts = 0;
    this.pacer = null;
  }

  get active() {
    return this.state === "running" || this.state === "ending";
  }

  async start() {
    try {
      await this.gateway.checkKey(this.key);
      if (!navigator.mediaDevices?.getUserMedia) {
        throw new ApiError("this browser gives no microphone to this page (it needs https or localhost)");
      }
      this.media = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
      this.context = new AudioContext({ sampleRate: RATE });
      await this.context.audioWorklet.addModule("static/pcm-worklet.js");
      await this.context.resume(); // a context made outside a gesture may start suspended
    } catch (error) {
      this.release();
      this.state = "done";
      throw error;
    }
    const source = this.context.createMediaStreamSource(this.media);
    const writer = new AudioWorkletNode(this.context, "pcm16-writer");
    const silent = new GainNode(this.context, { gain: 0 }); // keeps the graph pulled, plays nothing
    writer.port.onmessage = (event) => this.capture(event.data);
    source.connect(writer).connect(silent).connect(this.context.destination);
    this.state = "running";
    this.connect();
  }

  connect() {
    const socket = new WebSocket(this.gateway.realtimeUrl(this.resumeToken, this.lastEventId),
                                 this.gateway.realtimeProtocols(this.key));
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      // on every connection: a resumed session may not have applied the first one yet
      socket.send(JSON.stringify({
        type: "session.update",
        session: { type: "transcription", audio: { input: { format: { type: "audio/pcm", rate: RATE } } } },
      }));
      this.onStatus(this.resumeToken ? "Reconnected: listening." : "Listening…");
      this.flush();
    };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      this.lastEventId = event.event_id ?? this.lastEventId;
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
      } else if (this.active && this.resumeToken && this.attempts < RESUME_ATTEMPTS) {
        this.attempts += 1;
        this.onStatus(`Connection lost; resuming (attempt ${this.attempts})…`);
        setTimeout(() => this.active && this.connect(), 500 * this.attempts);
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

  // Send what is pending: at once when it is one piece, paced when catching up after a reconnect.
  flush() {
    if (this.socket?.readyState !== WebSocket.OPEN || this.pacer) return;
    const send = () => {
      for (let i = 0; i < PIECES_PER_TICK && this.pending.length; i++) {
        this.socket.send(JSON.stringify({ type: "input_audio_buffer.append", audio: base64(this.pending.shift()) }));
      }
      if (this.pending.length && this.socket.readyState === WebSocket.OPEN) {
        this.pacer = setTimeout(() => { this.pacer = null; send(); }, 100);
      } else if (!this.pending.length && this.state === "ending") {
        this.socket.send(JSON.stringify({ type: "audar.stream.end" }));
      }
    };
    send();
  }

  async stop() {
    if (this.state !== "running") return;
    this.state = "ending";
    this.release();
    this.onStatus("Finishing the last words…");
    this.flush(); // ends the stream once everything captured is sent (or on the next connection)
  }

  release() {
    this.media?.getTracks().forEach((track) => track.stop());
    if (this.context && this.context.state !== "closed") this.context.close();
  }

  finish() {
    if (this.state === "done") return;
    this.state = "done";
    clearTimeout(this.pacer);
    this.release();
    this.onEnded();
  }
}
