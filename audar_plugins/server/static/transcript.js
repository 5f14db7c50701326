// The transcript: a line per segment (speaker, time, text); a line plays its span when the page has the audio.
// A segment sent again (by id, as a resumed realtime session does) replaces its line.

function clock(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${(seconds - 60 * minutes).toFixed(1).padStart(4, "0")}`;
}

export class Transcript {
  constructor(element, { colourOf = () => "#5c6675", onPlay = null, follow = false } = {}) {
    this.element = element;
    this.colourOf = colourOf;
    this.onPlay = onPlay;
    this.follow = follow;
    this.items = new Map();
  }

  clear() {
    this.items = new Map();
    this.element.replaceChildren();
  }

  add({ id, speaker, start, end, text }) {
    const atBottom = this.element.scrollTop + this.element.clientHeight >= this.element.scrollHeight - 8;
    const item = document.createElement("li");
    const line = document.createElement(this.onPlay ? "button" : "div");
    line.className = "line";
    line.dataset.speaker = speaker;
    line.dataset.start = start.toFixed(3);
    line.dataset.end = end.toFixed(3);
    line.style.borderLeftColor = this.colourOf(speaker);
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = speaker;
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = `${clock(start)} – ${clock(end)}`;
    who.append(when);
    const words = document.createElement("span");
    words.className = "text";
    words.textContent = text ?? "";
    line.append(who, words);
    if (this.onPlay) {
      line.setAttribute("aria-label", `play ${speaker}, ${clock(start)} to ${clock(end)}: ${text ?? ""}`);
      line.addEventListener("click", () => this.onPlay(start, end));
    }
    item.append(line);
    const previous = id === undefined ? undefined : this.items.get(id);
    if (previous) {
      previous.replaceWith(item);
    } else {
      this.element.append(item);
    }
    if (id !== undefined) this.items.set(id, item);
    if (this.follow && atBottom) this.element.scrollTop = this.element.scrollHeight;
  }

  rename(speaker, name) {
    for (const line of this.element.querySelectorAll(`.line[data-speaker="${CSS.escape(speaker)}"]`)) {
      line.dataset.speaker = name;
      line.querySelector(".who").firstChild.textContent = name;
    }
  }
}
