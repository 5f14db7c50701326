// The page: live mode (microphone -> /v1/realtime) and file mode (a recording -> the transcription route),
// both drawn as a speaker timeline and a transcript.

import { ApiError, Gateway } from "./api.js";
import { LiveSession } from "./live.js";
import { Timeline, colourOf } from "./timeline.js";
import { Transcript } from "./transcript.js";

const $ = (id) => document.getElementById(id);
const LIVE_WINDOW_SECONDS = 30;

const gateway = new Gateway($("api-key"));
const player = $("player");
let stopAt = null;
let live = null;

function play(start, end) {
  if (player.hidden) return;
  player.currentTime = start;
  stopAt = end;
  player.play();
}

player.addEventListener("timeupdate", () => {
  if (stopAt !== null && player.currentTime >= stopAt) {
    player.pause();
    stopAt = null;
  }
});

let timeline = new Timeline($("timeline"));
const transcript = new Transcript($("transcript"), {
  colourOf: (speaker) => colourOf(Math.max(0, timeline.speakerIndex(speaker))),
});

function status(text) {
  $("status").textContent = text;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function reset(forFile) {
  clearError();
  timeline = forFile ? new Timeline($("timeline"), { onPlay: play })
    : new Timeline($("timeline"), { window: LIVE_WINDOW_SECONDS });
  transcript.onPlay = forFile ? play : null;
  transcript.clear();
}

function selectMode(mode) {
  const isLive = mode === "live";
  $("mode-live").setAttribute("aria-selected", String(isLive));
  $("mode-file").setAttribute("aria-selected", String(!isLive));
  $("live-panel").hidden = !isLive;
  $("file-panel").hidden = isLive;
}

$("mode-live").addEventListener("click", () => selectMode("live"));
$("mode-file").addEventListener("click", () => selectMode("file"));

// Live mode

function onLiveEvent(event) {
  switch (event.type) {
    case "audar.speaker_activity":
      timeline.add(event.segments, { merge: true });
      break;
    case "audar.speaker.named":
      timeline.rename(event.speaker, event.name);
      transcript.rename(event.speaker, event.name);
      break;
    case "conversation.item.input_audio_transcription.segment":
      transcript.add(event);
      break;
    case "conversation.item.input_audio_transcription.failed":
      if (event.error?.code !== "asr_unavailable") showError(event.error?.message ?? "a transcription failed");
      break;
    default:
      break;
  }
}

$("live-start").addEventListener("click", async () => {
  reset(false);
  player.hidden = true;
  $("live-start").disabled = true;
  status("Connecting…");
  live = new LiveSession(gateway, {
    onEvent: onLiveEvent,
    onStatus: status,
    onClock: (seconds) => { $("live-clock").textContent = `${seconds.toFixed(1)} s`; },
    onEnded: () => {
      $("live-start").disabled = false;
      $("live-stop").disabled = true;
      status("Stopped.");
    },
    onError: showError,
  });
  try {
    await live.start();
    $("live-stop").disabled = false;
    $("live-stop").focus();
  } catch (error) {
    showError(error instanceof ApiError ? error.message : `the microphone cannot be used: ${error.message}`);
    status("");
    live.finish();
    $("live-start").disabled = false;
  }
});

$("live-stop").addEventListener("click", () => {
  $("live-stop").disabled = true;
  live?.stop();
});

// File mode

async function openFile(file) {
  if (!file) return;
  reset(true);
  status(`Working on ${file.name}…`);
  if (player.src) URL.revokeObjectURL(player.src);
  player.src = URL.createObjectURL(file);
  player.hidden = false;
  try {
    const health = await gateway.health();
    if (health.asr) {
      const result = await gateway.transcribe(file);
      timeline.add(result.segments);
      result.segments.forEach((segment) => transcript.add(segment));
      status(`${file.name}: ${result.duration.toFixed(1)} s, ${timeline.lanes.size} speakers.`);
    } else {
      const result = await gateway.diarize(file);
      timeline.add(result.segments);
      result.segments.forEach((segment) => transcript.add({ ...segment, text: "" }));
      status(`${file.name}: ${result.duration.toFixed(1)} s, ${timeline.lanes.size} speakers (no transcription on this server).`);
    }
  } catch (error) {
    status("");
    showError(error instanceof ApiError ? error.message : `${file.name} could not be read: ${error.message}`);
  }
}

$("file-input").addEventListener("change", (event) => openFile(event.target.files[0]));

const dropZone = $("drop-zone");
dropZone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropZone.classList.add("over");
});
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("over");
  openFile(event.dataTransfer.files[0]);
});

status("Ready.");
