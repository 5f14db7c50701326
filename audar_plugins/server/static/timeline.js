// The speaker timeline: one lane per speaker, each turn a block placed by its start and end.
// Turns are buttons when the timeline can play them (file mode). Live, lanes grow as turns arrive and
// the view scrolls: it shows the last `window` seconds.

const COLOURS = ["#2457c5", "#d1495b", "#2a9d8f", "#e9a23b", "#7b4ab5", "#3d8b37", "#c2569b", "#5c6675"];

export function colourOf(index) {
  return COLOURS[index % COLOURS.length];
}

export class Timeline {
  constructor(element, { onPlay = null, window = null } = {}) {
    this.element = element;
    this.onPlay = onPlay;
    this.window = window;
    this.clear();
  }

  // The seconds shown: all of it, or the last `window` seconds.
  view() {
    const end = Math.max(this.duration, this.window ?? 1);
    const start = this.window ? end - this.window : 0;
    return [start, end - start];
  }

  clear() {
    this.lanes = new Map(); // speaker -> {turns: [[start, end]], element, track}
    this.duration = 0;
    this.axis = null;
    this.element.replaceChildren();
  }

  speakerIndex(speaker) {
    return [...this.lanes.keys()].indexOf(speaker);
  }

  colourOf(speaker) {
    return this.lanes.get(speaker)?.colour ?? "#5c6675";
  }

  // Time has reached `end` (live: the view scrolls through silence too).
  advance(end) {
    if (end > this.duration) {
      this.duration = end;
      this.render();
    }
  }

  // Add turns [{speaker, start, end}]; with merge, a turn touching the previous one of its speaker extends it.
  add(turns, { merge = false } = {}) {
    for (const { speaker, start, end } of turns) {
      const lane = this.lane(speaker);
      const last = lane.turns[lane.turns.length - 1];
      if (merge && last && Math.abs(last[1] - start) < 1e-6) {
        last[1] = end;
      } else {
        lane.turns.push([start, end]);
      }
      this.duration = Math.max(this.duration, end);
    }
    this.render();
  }

  // A speaker known by a new name: its lane takes the name (and the turns of a lane already under it).
  rename(speaker, name) {
    const lane = this.lanes.get(speaker);
    if (!lane || speaker === name) return;
    const existing = this.lanes.get(name);
    if (existing) {
      existing.turns.push(...lane.turns);
      existing.turns.sort((a, b) => a[0] - b[0]);
      lane.element.remove();
    } else {
      const renamed = new Map();
      for (const [key, value] of this.lanes) renamed.set(key === speaker ? name : key, value);
      this.lanes = renamed;
      lane.element.dataset.speaker = name;
      lane.label.textContent = name;
    }
    this.lanes.delete(speaker);
    this.render();
  }

  lane(speaker) {
    let lane = this.lanes.get(speaker);
    if (lane) return lane;
    const colour = colourOf(this.lanes.size);
    const element = document.createElement("div");
    element.className = "lane";
    element.dataset.speaker = speaker;
    const name = document.createElement("div");
    name.className = "lane-name";
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.backgroundColor = colour;
    const label = document.createElement("span");
    label.textContent = speaker;
    name.append(swatch, label);
    const track = document.createElement("div");
    track.className = "track";
    track.setAttribute("role", "group");
    track.setAttribute("aria-label", `turns of ${speaker}`);
    element.append(name, track);
    this.element.append(element);
    lane = { turns: [], element, track, label, colour };
    this.lanes.set(speaker, lane);
    return lane;
  }

  render() {
    const [origin, span] = this.view();
    for (const [speaker, lane] of this.lanes) {
      if (this.window) lane.turns = lane.turns.filter(([, end]) => end >= origin); // scrolled out: gone
      lane.track.setAttribute("aria-label", `turns of ${speaker}`);
      const blocks = [...lane.track.children];
      lane.turns.forEach(([start, end], index) => {
        let block = blocks[index];
        if (!block) {
          block = document.createElement(this.onPlay ? "button" : "div");
          block.className = "turn";
          block.style.backgroundColor = lane.colour;
          if (this.onPlay) block.addEventListener("click", () => this.onPlay(Number(block.dataset.start),
                                                                              Number(block.dataset.end)));
          lane.track.append(block);
        }
        block.dataset.start = start.toFixed(3);
        block.dataset.end = end.toFixed(3);
        block.style.left = `${(100 * (start - origin)) / span}%`;
        block.style.width = `${(100 * (end - start)) / span}%`;
        const label = `${speaker} from ${start.toFixed(1)} to ${end.toFixed(1)} seconds`;
        block.setAttribute(this.onPlay ? "aria-label" : "title", this.onPlay ? `play ${label}` : label);
      });
      for (const extra of blocks.slice(lane.turns.length)) extra.remove();
    }
    this.renderAxis(origin, span);
  }

  // Seconds under the lanes: five ticks across the view.
  renderAxis(origin, span) {
    if (!this.lanes.size) return;
    if (!this.axis) {
      this.axis = document.createElement("div");
      this.axis.className = "axis";
      this.axis.setAttribute("aria-hidden", "true");
      const ticks = document.createElement("div");
      ticks.className = "ticks";
      this.axis.append(document.createElement("span"), ticks);
    }
    this.element.append(this.axis); // stays last as lanes are added
    const ticks = this.axis.lastChild;
    ticks.replaceChildren(...[0, 0.25, 0.5, 0.75, 1].map((share) => {
      const tick = document.createElement("span");
      tick.textContent = `${(origin + share * span).toFixed(span < 20 ? 1 : 0)} s`;
      return tick;
    }));
  }
}
