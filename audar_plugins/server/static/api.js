// The gateway's HTTP routes, with the API key typed into the page (kept in memory only). URLs are
// relative to the page, so a gateway behind a path prefix works as it is.

export class ApiError extends Error {}

export class Gateway {
  constructor(keyInput) {
    this.keyInput = keyInput;
  }

  get key() {
    return this.keyInput.value.trim();
  }

  headers(key = this.key) {
    return key ? { Authorization: `Bearer ${key}` } : {};
  }

  async request(path, { key = this.key, ...options } = {}) {
    let response;
    try {
      response = await fetch(path, { ...options, headers: this.headers(key) });
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

  async health(options = {}) {
    return (await this.request("health", options)).json();
  }

  // Checks the key against a /v1 route: a WebSocket refused at the handshake tells the page nothing.
  async checkKey(key = this.key) {
    await this.request("v1/models", { key });
  }

  async upload(path, file, fields, options) {
    const form = new FormData();
    form.append("file", file);
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    return (await this.request(path, { method: "POST", body: form, ...options })).json();
  }

  transcribe(file, options = {}) {
    return this.upload("v1/audio/transcriptions", file,
                       { model: "gpt-4o-transcribe-diarize", response_format: "diarized_json" }, options);
  }

  diarize(file, options = {}) {
    return this.upload("v1/audio/diarizations", file, { model: "audar-diarize", response_format: "json" }, options);
  }

  // lastEventId: the last event received, so that a resumed session sends again what came after it.
  realtimeUrl(resumeToken = null, lastEventId = null) {
    const url = new URL("v1/realtime", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("diarize", "true");
    if (resumeToken) url.searchParams.set("resume", resumeToken);
    if (resumeToken && lastEventId) url.searchParams.set("after", lastEventId);
    return url.href;
  }

  // OpenAI's browser form of the key: a WebSocket subprotocol beside "realtime".
  realtimeProtocols(key = this.key) {
    return key ? ["realtime", `openai-insecure-api-key.${key}`] : ["realtime"];
  }
}
