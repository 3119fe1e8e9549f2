// The publication form's "when" part: the publish time's help text names the zone
// picked; the recurrence builder shows only the inputs its choice uses; and the next
// five occurrences are previewed by the server (the same code that schedules them).
// Loaded in the page's head (Wagtail's extra_js block): wait for the form.
document.addEventListener("DOMContentLoaded", () => {
  "use strict";

  const form = document.querySelector("[data-cs-schedule-form]");
  if (!form) return;

  const SCHEDULE_FIELDS = [
    "timezone", "publish_at", "repeat", "interval", "weekdays",
    "month_day", "ends", "count", "until", "custom_rule",
  ];
  const byId = (id) => document.getElementById(id);
  const wrapperOf = (id) => {
    const el = byId(id);
    return el ? el.closest(".w-field__wrapper") : null;
  };
  const value = (name) => {
    const el = form.elements.namedItem(name);
    return el && "value" in el ? el.value : "";
  };

  // Both times of the form (the publish time and the repetition's last day) are read
  // in the zone picked: their help texts say which.
  function nameTheZone() {
    const zone = byId("id_timezone");
    if (!zone || !zone.dataset.readIn) return;
    ["id_publish_at-helptext", "id_until-helptext"].forEach((id) => {
      const help = byId(id);
      if (help) help.textContent = zone.dataset.readIn.replace("__ZONE__", zone.value);
    });
  }

  function showBuilderInputs() {
    const repeat = value("repeat") || "none";
    const ends = value("ends") || "never";
    const regular = ["daily", "weekly", "monthly"].includes(repeat);
    const visible = {
      id_interval: regular,
      id_weekdays: repeat === "weekly",
      id_month_day: repeat === "monthly",
      id_ends: regular,
      id_count: regular && ends === "count",
      id_until: regular && ends === "until",
      id_custom_rule: repeat === "custom",
    };
    Object.entries(visible).forEach(([id, shown]) => {
      const wrapper = wrapperOf(id);
      if (wrapper) wrapper.hidden = !shown;
    });
  }

  const preview = document.querySelector("[data-cs-recurrence-preview]");
  let timer = null;
  let latest = 0;

  async function refreshPreview() {
    if (!preview || !form.dataset.previewUrl) return;
    if ((value("repeat") || "none") === "none") {
      preview.hidden = true;
      return;
    }
    const params = new URLSearchParams();
    new FormData(form).forEach((v, k) => {
      if (SCHEDULE_FIELDS.includes(k)) params.append(k, v);
    });
    const ticket = ++latest;
    const response = await fetch(`${form.dataset.previewUrl}?${params}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (ticket !== latest || !response.ok) return; // a newer request is on its way
    const data = await response.json();
    const list = preview.querySelector("[data-cs-preview-list]");
    const errors = preview.querySelector("[data-cs-preview-errors]");
    list.replaceChildren(
      ...data.occurrences.map((text) => {
        const li = document.createElement("li");
        li.textContent = text;
        return li;
      }),
    );
    preview.querySelector("[data-cs-preview-rule]").textContent = data.rule;
    preview.querySelector("[data-cs-preview-zone]").textContent = value("timezone");
    errors.textContent = data.errors.join(" ");
    errors.hidden = data.errors.length === 0;
    preview.hidden = false;
  }

  function onChange() {
    nameTheZone();
    showBuilderInputs();
    clearTimeout(timer);
    timer = setTimeout(refreshPreview, 300);
  }

  form.addEventListener("change", onChange);
  form.addEventListener("input", onChange);
  nameTheZone();
  showBuilderInputs();
});
