// The card form of the billing page. The billing provider's script (Stripe.js, or a compatible
// local server's) mounts its card element and confirms card setups and payments itself, so a
// card's number goes from this page to the provider and never to us. The page (Rust, compiled
// to wasm) calls these through `window.pingvasCard`; each answers a promise.
(function () {
  "use strict";
  let provider = null;
  let card = null;
  let loading = null;

  function load(src) {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        const script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = function () {
          loading = null;
          reject(new Error("The payment form could not be loaded; please try again."));
        };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function message(error) {
    return (error && (error.message || String(error))) || "The card was not accepted.";
  }

  window.pingvasCard = {
    // Shows the provider's card field in the element matching `selector`.
    mount: async function (src, key, selector) {
      await load(src);
      if (!provider) {
        provider = window.Stripe(key);
      }
      if (card) {
        try { card.unmount(); } catch (ignored) { /* already gone with its page */ }
      }
      card = provider.elements().create("card");
      card.mount(selector);
    },
    // Saves the card typed in the field for later charges; answers its payment method's id.
    saveCard: async function (clientSecret) {
      if (!card) {
        throw new Error("The payment form is not ready yet.");
      }
      const result = await provider.confirmCardSetup(clientSecret, { payment_method: { card: card } });
      if (result.error) {
        throw new Error(message(result.error));
      }
      const method = result.setupIntent.payment_method;
      return typeof method === "string" ? method : method.id;
    },
    // Completes a payment the bank wants confirmed in the browser (3-D Secure).
    confirmPayment: async function (clientSecret) {
      const result = await provider.confirmCardPayment(clientSecret);
      if (result.error) {
        throw new Error(message(result.error));
      }
      return true;
    },
  };
})();
