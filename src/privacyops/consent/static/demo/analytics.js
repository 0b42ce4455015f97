/* Stands for an analytics tag: proves when it ran, and sets a first-party cookie like GA's. */
window.__analyticsRan = true;
window.__analyticsRanAt = performance.now();
document.cookie = "_ga=GA1.1.demo; Path=/; SameSite=Lax";
window.dispatchEvent(new Event("demo-analytics-ran"));
