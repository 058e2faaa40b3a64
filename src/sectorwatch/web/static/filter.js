// Filters a long list of authorities as you type. Without it, the whole list still works.
(function () {
  for (const box of document.querySelectorAll("input[data-filter]")) {
    const list = document.getElementById(box.dataset.filter);
    if (!list) continue;
    box.hidden = false;
    const label = document.querySelector('label[for="' + box.id + '"]');
    const items = list.querySelectorAll("[data-name]");
    const groups = list.querySelectorAll("[data-region]");
    const none = list.querySelector(".none-found");
    box.addEventListener("input", function () {
      const q = box.value.trim().toLowerCase();
      let shown = 0;
      for (const item of items) {
        const match = !q || item.dataset.name.includes(q);
        item.hidden = !match;
        if (match) shown++;
      }
      for (const group of groups) {
        group.hidden = !group.querySelector("[data-name]:not([hidden])");
      }
      if (none) none.hidden = shown > 0;
    });
    if (label) label.hidden = false;
  }
})();
