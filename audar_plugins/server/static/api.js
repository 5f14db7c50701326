// The gateway's HTTP routes, with the API key typed into the page (kept in memory only).

export class ApiError extends Error {}

export class Gateway {
  constructor(keyInput) {
    this.keyInput = keyInput;
  }

  get key() {
    return this.keyInput.value.trim();
  }

  headers() {
    return this.key ? { Authorization: `Bearer ${this.key}` } : {};
  }

  async request(path, options = {}) {
    let response;
    try {
      response = await fetch(path, { ...options, headers: { ...this.headers(), ...(options.headers || {}) } });
    } catch (error) {
      throw new ApiError(`the server cannot be reached (${error.message})`);
    }
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try {
        const body = await response.json();
        if (body?.error?.message) message = body.error.message;
      } catch {
        // not JSON: the status line says enough
      }
      throw new ApiError(response.status === 401 ? `The API key was refused: ${message}` : message);
    }
    return response;
  }

  async health() {
    return (await this.request("/health")).json();
  }

  // Checks the key against a /v1 route: a WebSocket refused at the handshake tells the page nothing.
  async checkKey() {
    await this.request("/v1/models");
  }

  async transcribe(file) {
    const form = new FormData();
    form.append("file", file);
    form.append("model", "gpt-4o-transcribe-diarize");
    form.append("response_format", "diarized_json");
    return (await this.request("/v1/audio/transcriptions", { method: "POST", body: form })).json();
  }

  async diarize(file) {
    const form = new FormData();
    form.append("file", file);
    form.append("model", "audar-diarize");
    form.append("response_format", "json");
    return (await this.request("/v1/audio/diarizations", { method: "POST", body: form })).json();
  }

  realtimeUrl(resumeToken = null) {
    const url = new URL("/v1/realtime", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("diarize", "true");
    if (resumeToken) url.searchParams.set("resume", resumeToken);
    return url.href;
  }

  // OpenAI's browser form of the key: a WebSocket subprotocol beside "realtime".
  realtimeProtocols() {
    return this.key ? ["realtime", `openai-insecure-api-key.${this.key}`] : ["realtime"];
  }
}
