// The console's state, shared by its views.
export const state = {
  me: null,
  convs: new Map(), // id → conversation
  messages: new Map(), // conversation id → Map(seq → message)
  first: new Map(), // conversation id → lowest seq loaded (1: the whole history)
  unread: new Map(), // conversation id → messages not seen yet
  pending: new Map(), // conversation id → [messages on their way]
  operators: new Map(), // name → presence
  selected: null,
  ws: null,
};

export function addMessage(m) {
  if (!state.messages.has(m.conversationID)) state.messages.set(m.conversationID, new Map());
  state.messages.get(m.conversationID).set(m.seq, m);
}

// isOffer: a chat assigned to me awaiting my accept, or offered to everyone (AllAgents).
export function isOffer(c) {
  const me = state.me && state.me.name;
  return (c.state === "Assigned" && c.operator === me) || (c.state === "Queued" && (c.offered || []).includes(me));
}

export function queueDetails(name) {
  return (state.me.queueDetails || []).find((q) => q.name === name) || { name, transferTargets: [], actions: [], operators: [] };
}

export function displayName(name) {
  for (const q of state.me.queueDetails || []) {
    const op = q.operators.find((o) => o.name === name);
    if (op && op.displayName) return op.displayName;
  }
  return name;
}
