// The theme chosen with the navbar's switch (kept by Dash in local storage, callbacks/shell.py), applied before
// the page draws: the login and password pages follow it too, and Dash pages do not flash light first.
(function () {
  try {
    if (JSON.parse(window.localStorage.getItem("theme-store")) === true) {
      document.documentElement.setAttribute("data-bs-theme", "dark");
    }
  } catch (e) {
    // no stored choice, or storage refused: the light theme
  }
})();
