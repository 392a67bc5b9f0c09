// The services page's live notice board: a WebSocket to /admin/ws/notices/ through the
// channel layer. Notices are shown as text, never as HTML.
(function () {
  'use strict';
  var board = document.getElementById('notice-board');
  if (!board || !window.WebSocket) return;
  var list = board.querySelector('.notice-list');
  var status = board.querySelector('.notice-status');
  var form = board.querySelector('.notice-form');
  var input = form.querySelector('input[name=message]');
  var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + board.dataset.socket;
  var socket = null;
  var retry = 1000;

  function show(notice) {
    var item = document.createElement('li');
    var who = document.createElement('strong');
    who.textContent = notice.user;
    var when = document.createElement('time');
    when.dateTime = notice.at;
    when.textContent = new Date(notice.at).toLocaleTimeString();
    var text = document.createElement('span');
    text.className = 'notice-text';
    text.textContent = notice.message;
    item.append(who, ' ', when, ' ', text);
    list.prepend(item);
    while (list.children.length > 50) list.lastElementChild.remove();
  }

  function connect() {
    socket = new WebSocket(url);
    socket.addEventListener('open', function () {
      retry = 1000;
      board.classList.add('live');
      status.textContent = board.dataset.connected;
    });
    socket.addEventListener('message', function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.error) { status.textContent = data.error; return; }
      if (typeof data.message === 'string') show(data);
    });
    socket.addEventListener('close', function () {
      board.classList.remove('live');
      status.textContent = board.dataset.disconnected;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ message: text }));
    input.value = '';
  });
  connect();
})();
