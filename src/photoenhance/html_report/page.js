(function () {
  'use strict';
  var body = document.body, errors = [];
  window.addEventListener('error', function (e) {
    errors.push(String(e.message || e));
    body.setAttribute('data-js-errors', String(errors.length));
    body.setAttribute('data-js-error', errors[0]);
  });
  var images = [], failed = [];
  function counts() {
    var ok = 0, broken = 0, pending = 0;
    images.forEach(function (img) {
      var s = img.getAttribute('data-state');
      if (s === 'ok') ok++; else if (s === 'broken') broken++; else pending++;
    });
    body.setAttribute('data-images-ok', String(ok));
    body.setAttribute('data-images-broken', String(broken));
    body.setAttribute('data-images-pending', String(pending));
    body.setAttribute('data-images-failed', String(failed.length));  // ever, any crop
  }
  function track(img) {
    if (images.indexOf(img) < 0) images.push(img);
    function settle() {
      img.setAttribute('data-state', img.naturalWidth > 0 ? 'ok' : 'broken');
      if (!img.naturalWidth && failed.indexOf(img.src) < 0) failed.push(img.src);
      counts();
    }
    img.setAttribute('data-state', 'pending');
    if (img.complete) settle();
    img.onload = settle;
    img.onerror = settle;
    counts();
  }
  function loaded(img) {  // a promise that settles once img has loaded or failed
    return new Promise(function (resolve) {
      if (img.getAttribute('data-state') !== 'pending') { resolve(); return; }
      img.addEventListener('load', function () { resolve(); }, {once: true});
      img.addEventListener('error', function () { resolve(); }, {once: true});
    });
  }

  function Viewer(root) {
    var vp = root.querySelector('.viewport'), stage = root.querySelector('.stage');
    var before = root.querySelector('img.before'), after = root.querySelector('img.after');
    var divider = root.querySelector('.divider'), slider = root.querySelector('input.split');
    var labelB = root.querySelector('.label-before'), labelA = root.querySelector('.label-after');
    var where = root.querySelector('.where');
    var cropBtns = root.querySelectorAll('.crop-btn'), boxes = root.querySelectorAll('.overview .box');
    var zoomBtns = root.querySelectorAll('.zoom-btn'), modeBtns = root.querySelectorAll('.mode-btn');
    var dpr = window.devicePixelRatio || 1;
    var st = {crop: 0, zoom: 1, zoomKey: '1', split: 0.5, mode: 'split'};
    if (dpr !== 1) root.querySelector('.zoom-btn.device').hidden = false;
    var self = this;
    this.root = root; this.before = before; this.after = after; this.stage = stage; this.vp = vp;
    this.state = st;

    function mark(list, attr, value) {
      list.forEach(function (b) { b.classList.toggle('on', b.getAttribute(attr) === String(value)); });
    }
    function crop() { return cropBtns[st.crop]; }
    function size() {
      var c = crop();
      return [Number(c.getAttribute('data-w')), Number(c.getAttribute('data-h'))];
    }
    function layout() {
      var wh = size(), w = wh[0] * st.zoom, h = wh[1] * st.zoom;
      stage.style.width = w + 'px'; stage.style.height = h + 'px';
      [before, after].forEach(function (img) { img.style.width = w + 'px'; img.style.height = h + 'px'; });
      vp.style.width = w + 'px'; vp.style.height = h + 'px';
      stage.classList.toggle('pixelated', st.zoom > 1);
      mark(zoomBtns, 'data-zoom', st.zoomKey);
      split();
    }
    function split() {
      var w = size()[0] * st.zoom, x;
      if (st.mode === 'before') x = w;
      else if (st.mode === 'after') x = 0;
      else x = Math.round(vp.scrollLeft + st.split * Math.min(vp.clientWidth, w));
      after.style.clipPath = 'inset(0 0 0 ' + x + 'px)';
      divider.style.left = x + 'px';
      divider.hidden = st.mode !== 'split';
      labelB.hidden = st.mode === 'after';
      labelA.hidden = st.mode === 'before';
      mark(modeBtns, 'data-mode', st.mode);
      self.splitX = x;
    }
    this.setCrop = function (k) {
      st.crop = k;
      var c = crop();
      before.src = c.getAttribute('data-before');
      after.src = c.getAttribute('data-after');
      track(before); track(after);
      mark(cropBtns, 'data-crop', k); mark(boxes, 'data-crop', k);
      where.textContent = c.textContent + ': ' + c.title + ' of the photo';
      layout();
      vp.scrollLeft = 0; vp.scrollTop = 0;
      return Promise.all([loaded(before), loaded(after)]);
    };
    this.setZoom = function (key) {
      var cx = (vp.scrollLeft + vp.clientWidth / 2) / st.zoom, cy = (vp.scrollTop + vp.clientHeight / 2) / st.zoom;
      st.zoomKey = String(key);
      st.zoom = key === 'device' ? 1 / dpr : Number(key);
      layout();
      vp.scrollLeft = cx * st.zoom - vp.clientWidth / 2;
      vp.scrollTop = cy * st.zoom - vp.clientHeight / 2;
      split();
    };
    this.setMode = function (m) { st.mode = m; split(); };
    this.setSplit = function (f) { st.split = f; slider.value = String(Math.round(f * 100)); st.mode = 'split'; split(); };

    cropBtns.forEach(function (b) { b.addEventListener('click', function () { self.setCrop(Number(b.getAttribute('data-crop'))); }); });
    boxes.forEach(function (b) { b.addEventListener('click', function () { self.setCrop(Number(b.getAttribute('data-crop'))); }); });
    zoomBtns.forEach(function (b) { b.addEventListener('click', function () { self.setZoom(b.getAttribute('data-zoom')); }); });
    modeBtns.forEach(function (b) { b.addEventListener('click', function () { self.setMode(b.getAttribute('data-mode')); }); });
    slider.addEventListener('input', function () { self.setSplit(Number(slider.value) / 100); });
    vp.addEventListener('scroll', split);
    window.addEventListener('resize', split);
    var drag = null;
    vp.addEventListener('pointerdown', function (e) {
      drag = {x: e.clientX, y: e.clientY, l: vp.scrollLeft, t: vp.scrollTop};
      vp.classList.add('dragging');
      if (vp.setPointerCapture) vp.setPointerCapture(e.pointerId);
    });
    vp.addEventListener('pointermove', function (e) {
      if (!drag) return;
      vp.scrollLeft = drag.l - (e.clientX - drag.x);
      vp.scrollTop = drag.t - (e.clientY - drag.y);
    });
    function stop() { drag = null; vp.classList.remove('dragging'); }
    vp.addEventListener('pointerup', stop);
    vp.addEventListener('pointercancel', stop);
    vp.addEventListener('keydown', function (e) {  // b / a / s: before, after, split
      var m = {b: 'before', a: 'after', s: 'split'}[e.key];
      if (m) { self.setMode(m); e.preventDefault(); }
    });
    track(before); track(after);
    this.setCrop(0);
  }

  document.querySelectorAll('.overview img').forEach(track);
  var viewers = [];
  document.querySelectorAll('section.photo').forEach(function (root) {
    if (root.querySelector('.viewer')) viewers.push(new Viewer(root));
  });
  counts();
  body.setAttribute('data-viewers', String(viewers.length));
  body.setAttribute('data-ready', '1');

  // "#selftest": click through every crop, zoom and view of every photo and check what
  // the page shows; the result goes to body[data-selftest] ("pass" or the first failure)
  if (location.hash !== '#selftest') return;
  var failures = [];
  function check(ok, what) { if (!ok) failures.push(what); }
  function close(a, b) { return Math.abs(a - b) <= 1; }
  function clipLeft(img) {  // x of inset(top right bottom LEFT)
    var m = /(-?[0-9.]+)px\)\s*$/.exec(img.style.clipPath);
    return m ? Number(m[1]) : NaN;
  }
  var chain = Promise.resolve();
  viewers.forEach(function (v, n) {
    v.root.querySelectorAll('.crop-btn').forEach(function (btn, k) {
      chain = chain.then(function () {
        btn.click();
        return Promise.all([loaded(v.before), loaded(v.after)]);
      }).then(function () {
        var w = Number(btn.getAttribute('data-w')), h = Number(btn.getAttribute('data-h'));
        var id = 'photo ' + (n + 1) + ' crop ' + btn.getAttribute('data-key') + ': ';
        check(v.before.naturalWidth === w && v.before.naturalHeight === h, id + 'before image ' + v.before.naturalWidth + 'x' + v.before.naturalHeight + ', expected ' + w + 'x' + h);
        check(v.after.naturalWidth === w && v.after.naturalHeight === h, id + 'after image ' + v.after.naturalWidth + 'x' + v.after.naturalHeight);
        check(close(v.before.getBoundingClientRect().width, w), id + 'not shown at 100 %');
        v.setSplit(0.25);
        check(v.splitX === Math.round(0.25 * Math.min(v.vp.clientWidth, w)), id + 'split slider');
        check(clipLeft(v.after) === v.splitX && v.splitX > 0 && v.splitX < w, id + 'after image not clipped at the split');
        v.setMode('before');
        check(clipLeft(v.after) === w, id + 'before view still shows the after image');
        v.setMode('after');
        check(clipLeft(v.after) === 0, id + 'after view hides the after image');
        v.setZoom('2');
        check(close(v.after.getBoundingClientRect().width, 2 * w) && v.stage.classList.contains('pixelated'), id + '200 % zoom');
        v.setZoom('1'); v.setMode('split'); v.setSplit(0.5);
      });
    });
    chain = chain.then(function () { return v.setCrop(0); });
  });
  chain.then(function () {
    check(errors.length === 0, 'script errors: ' + errors.join('; '));
    body.setAttribute('data-selftest', failures.length ? 'fail: ' + failures.join(' | ') : 'pass');
  }, function (e) { body.setAttribute('data-selftest', 'fail: ' + e); });
})();
