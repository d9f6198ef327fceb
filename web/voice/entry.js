// The live dialer's Voice SDK, bundled by esbuild (make voice-sdk) into
// web/static/vendor/voice-sdk.js. dialer.js finds it as window.MobayiloVoice;
// the bundle is built, never committed, and sandbox mode never loads it.
import { Device } from "@twilio/voice-sdk";

window.MobayiloVoice = { Device: Device };
