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

  async transcribe(file, options = {}) {
    const form = new FormData();
    form.append("file", file);
    form.append("model", "gpt-4o-transcribe-diarize");
    form.append("response_format", "diarized_json");
    return (await this.request("v1/audio/transcriptions", { method: "POST", body: form, ...options })).json();
  }

  async diarize(file, options = {}) {
    const form = new FormData();
    form.append("file", file);
    form.append("model", "audar-diarize");
    form.append("response_format", "json");
    return (await this.request("v1/audio/diarizations", { method: "POST", body: form, ...options })).json();
  }

  realtimeUrl(resumeToken = null) {
    const url = new URL("v1/realtime", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("diarize", "true");
    if (resumeToken) url.searchParams.set("resume", resumeToken);
    return url.href;
  }

  // OpenAI's browser form of the key: a WebSocket subprotocol beside "realtime".
  realtimeProtocols(key = this.key) {
    return key ? ["realtime", `openai-insecure-api-key.${key}`] : ["realtime"];
  }
}
