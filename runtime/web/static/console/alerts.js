// How an operator learns of a chat offered to them: the LiveChat's alert sound
// (looping until the chat is opened when spec.console.sound.loop is set), a desktop
// notification while the tab is hidden, and the unread count in the tab's title.
// window.__switchboard records what was played and shown, for tests and debugging.
const record = (window.__switchboard = window.__switchboard || { soundPlays: 0, notifications: [] });

// Browsers let a page play sound only after someone interacted with it: a click or a
// key since the page loaded (signing in counts).
let interacted = false;
const onInteraction = new Set();
for (const ev of ["pointerdown", "keydown"]) {
  window.addEventListener(ev, () => {
    if (interacted) return;
    interacted = true;
    for (const f of onInteraction) f();
  }, { capture: true });
}

export function createAlerts(settings, t) {
  const sound = settings.sound || {};
  let audio = null;
  let wanted = false; // an offer is waiting: sound once the page was interacted with
  const baseTitle = document.title;

  const setState = (s) => { document.body.dataset.sound = s; };
  setState("stopped");

  const play = () => {
    if (!sound.enabled || !interacted || !wanted) return;
    if (!audio) {
      audio = new Audio(sound.url || "/console/chime.wav");
      audio.addEventListener("ended", () => { if (!audio.loop) setState("stopped"); });
    }
    audio.loop = !!sound.loop;
    audio.currentTime = 0;
    record.soundPlays++;
    setState("playing");
    // A pause() before playback began rejects play() too: that is no refusal.
    audio.play().catch((e) => { if (wanted && e.name === "NotAllowedError") setState("blocked"); });
  };

  const askPermission = () => {
    if (settings.desktopNotifications && "Notification" in window && Notification.permission === "default") {
      Notification.requestPermission().catch(() => {});
    }
  };
  onInteraction.add(() => { askPermission(); play(); });
  if (interacted) askPermission();

  const hidden = () => document.hidden || document.visibilityState === "hidden";

  return {
    // offer starts the alert for a newly offered chat.
    offer(conv, text) {
      wanted = true;
      play();
      if (settings.desktopNotifications && hidden() && "Notification" in window && Notification.permission === "granted") {
        const n = new Notification(t("notify.title"), { body: text, tag: "switchboard-" + conv.id });
        record.notifications.push({ title: t("notify.title"), body: text, conversation: conv.id });
        n.onclick = () => { window.focus(); window.dispatchEvent(new CustomEvent("switchboard:open", { detail: conv.id })); };
      }
    },
    // stop ends the sound: the chat was opened, or no offer is left.
    stop() {
      wanted = false;
      if (audio) { audio.pause(); }
      setState("stopped");
    },
    title(unread) { document.title = unread > 0 ? "(" + unread + ") " + baseTitle : baseTitle; },
  };
}
