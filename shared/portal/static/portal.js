// The portal's only script: copy buttons. Loaded from the portal itself (the CSP allows no inline script), and
// the pages work without it: every value is also shown as selectable text.
"use strict";

function announce(text) {
  const region = document.getElementById("announcer");
  if (region) {
    region.textContent = text;
  }
}

async function copyValue(button) {
  const source = document.getElementById(button.dataset.copy);
  if (!source) {
    return;
  }
  const value = source.textContent.trim();
  try {
    await navigator.clipboard.writeText(value);
    button.classList.add("copied");
    button.textContent = "Copied";
    announce("Copied to the clipboard");
    setTimeout(() => {
      button.classList.remove("copied");
      button.textContent = "Copy";
    }, 4000);
  } catch (error) {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    announce("Selected; press Ctrl+C to copy");
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (button) {
    copyValue(button);
  }
});
