// The page: live mode (microphone -> /v1/realtime) and file mode (a recording -> the transcription route),
// both drawn as a speaker timeline and a transcript.

import { ApiError, Gateway } from "./api.js";
import { LiveSession } from "./live.js";
import { Timeline } from "./timeline.js";
import { Transcript } from "./transcript.js";

const $ = (id) => document.getElementById(id);
const LIVE_WINDOW_SECONDS = 30;

const gateway = new Gateway($("api-key"));
const player = $("player");
let stopAt = null;
let live = null;
let fileRun = 0; // the latest file's number: answers for older ones are dropped
let upload = null;

function play(start, end) {
  if (player.hidden) return;
  player.currentTime = start;
  stopAt = end;
  player.play().catch((error) => showError(`the recording cannot be played here: ${error.message}`));
}

player.addEventListener("timeupdate", () => {
  if (stopAt !== null && player.currentTime >= stopAt) {
    player.pause();
    stopAt = null;
  }
});

let timeline = new Timeline($("timeline"));
const transcript = new Transcript($("transcript"), { colourOf: (speaker) => timeline.colourOf(speaker) });

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
  transcript.follow = !forFile;
  $("transcript").setAttribute("aria-live", forFile ? "off" : "polite");
  transcript.clear();
}

function selectMode(mode) {
  const isLive = mode === "live";
  $("mode-live").setAttribute("aria-pressed", String(isLive));
  $("mode-file").setAttribute("aria-pressed", String(!isLive));
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
      timeline.advance(event.end);
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

function liveEnded() {
  $("live-start").disabled = false;
  $("live-stop").disabled = true;
  $("mode-file").disabled = false;
  if (document.activeElement === document.body || document.activeElement?.disabled) $("live-start").focus();
}

$("live-start").addEventListener("click", async () => {
  fileRun += 1; // a file still uploading no longer draws here
  upload?.abort();
  reset(false);
  player.hidden = true;
  $("live-start").disabled = true;
  $("mode-file").disabled = true; // one mode at a time: the microphone stays live until Stop
  status("Connecting…");
  live = new LiveSession(gateway, {
    onEvent: onLiveEvent,
    onStatus: status,
    onClock: (seconds) => { $("live-clock").textContent = `${seconds.toFixed(1)} s`; },
    onEnded: () => {
      status("Stopped.");
      liveEnded();
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
    liveEnded();
  }
});

$("live-stop").addEventListener("click", () => {
  $("live-stop").disabled = true;
  $("live-start").focus();
  live?.stop();
});

// File mode

async function openFile(file) {
  if (!file || live?.active) return;
  const run = ++fileRun;
  upload?.abort();
  upload = new AbortController();
  const options = { signal: upload.signal };
  reset(true);
  status(`Working on ${file.name}…`);
  if (player.src) URL.revokeObjectURL(player.src);
  player.src = URL.createObjectURL(file);
  player.hidden = false;
  try {
    const health = await gateway.health(options);
    const result = health.asr ? await gateway.transcribe(file, options) : await gateway.diarize(file, options);
    if (run !== fileRun) return;
    timeline.add(result.segments);
    result.segments.forEach((segment) => transcript.add(health.asr ? segment : { ...segment, text: "" }));
    const note = health.asr ? "" : " (no transcription on this server)";
    status(`${file.name}: ${result.duration.toFixed(1)} s, ${timeline.lanes.size} speakers${note}.`);
  } catch (error) {
    if (run !== fileRun) return;
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
