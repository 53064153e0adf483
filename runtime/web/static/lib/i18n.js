// Strings of one app in every language it ships: t("key", {name}) picks the
// visitor's or operator's language (an override in ?lang= or local storage first,
// then the browser's), falling back to English for a missing string.
export function translator(dictionaries) {
  const shipped = Object.keys(dictionaries);
  const choose = () => {
    const wanted = [new URLSearchParams(location.search).get("lang"), localStorage.getItem("switchboard-lang"),
      ...(navigator.languages || [navigator.language])];
    for (const w of wanted) {
      const base = (w || "").toLowerCase().split("-")[0];
      if (shipped.includes(base)) return base;
    }
    return "en";
  };
  const lang = choose();
  const t = (key, vars = {}) => {
    const s = (dictionaries[lang] && dictionaries[lang][key]) ?? dictionaries.en[key] ?? key;
    return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  };
  // apply translates the static page: data-i18n sets the text, data-i18n-label the
  // aria-label, data-i18n-placeholder and data-i18n-title those attributes.
  const apply = (root = document) => {
    document.documentElement.lang = lang;
    for (const e of root.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
    for (const e of root.querySelectorAll("[data-i18n-label]")) e.setAttribute("aria-label", t(e.dataset.i18nLabel));
    for (const e of root.querySelectorAll("[data-i18n-placeholder]")) e.placeholder = t(e.dataset.i18nPlaceholder);
    for (const e of root.querySelectorAll("[data-i18n-title]")) e.title = t(e.dataset.i18nTitle);
  };
  const choice = (l) => { localStorage.setItem("switchboard-lang", l); location.reload(); };
  return { t, lang, languages: shipped, apply, choose: choice };
}
