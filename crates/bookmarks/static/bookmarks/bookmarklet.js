// The bookmarklet: loaded into another site's page by the "Bookmark it" button of the
// dashboard. It shows that page's images of at least 250×250 pixels (.jpg, .jpeg, .png, .webp);
// clicking one opens this site's bookmark form with the image's address and the page's title.
// This site's address is where this script was loaded from: no host is written here.
(() => {
  const script = document.currentScript;
  const site = new URL(script ? script.src : 'about:blank').origin + '/';
  const minSize = 250;
  // The texts in the dashboard's language, handed over by the launcher.
  const texts = Object.assign({
    select: 'Select an image to bookmark:',
    none: 'No image of at least 250×250 pixels was found on this page.',
    close: 'Close',
  }, window.quartetBookmarkletTexts || {});
  const extensions = /\.(jpe?g|png|webp)$/i;

  const style = document.createElement('link');
  style.rel = 'stylesheet';
  style.href = site + 'static/bookmarks/bookmarklet.css?r=' + Math.floor(Math.random() * 1e16);
  document.head.appendChild(style);

  const box = document.createElement('div');
  box.id = 'quartet-bookmarklet';
  const close = document.createElement('a');
  close.href = '#';
  close.className = 'close';
  close.setAttribute('aria-label', texts.close);
  close.textContent = '×';
  const heading = document.createElement('h1');
  heading.textContent = texts.select;
  const list = document.createElement('div');
  list.className = 'images';
  box.append(close, heading, list);
  document.body.appendChild(box);
  close.addEventListener('click', (event) => {
    event.preventDefault();
    box.style.display = 'none';
  });

  window.quartetBookmarkletLaunch = () => {
    list.replaceChildren();
    box.style.display = 'block';
    for (const img of document.querySelectorAll('img')) {
      const src = img.currentSrc || img.src;
      let path;
      try {
        path = new URL(src, location.href).pathname;
      } catch {
        continue;
      }
      if (!extensions.test(path) || img.naturalWidth < minSize || img.naturalHeight < minSize) continue;
      const choice = document.createElement('img');
      choice.src = src;
      choice.alt = img.alt || '';
      choice.addEventListener('click', () => {
        box.style.display = 'none';
        const form = site + 'images/create/?url=' + encodeURIComponent(src) + '&title=' + encodeURIComponent(document.title);
        window.open(form, '_blank');
      });
      list.appendChild(choice);
    }
    if (!list.children.length) {
      const none = document.createElement('p');
      none.textContent = texts.none;
      list.appendChild(none);
    }
  };
  window.quartetBookmarkletLaunch();
})();
